package bench

import (
	"context"
	"errors"
)

func (r ChatRun) measureEjabberd(ctx context.Context, dir string) (ChatFigures, error) {
	return ChatFigures{}, errors.New("not yet")
}
