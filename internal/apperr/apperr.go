// Package apperr is the one error table of Virtual Office: every refusal the
// domain makes carries a Code, and each transport maps a Code to its own
// status once (see httpapi). Internal errors never carry detail to clients.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error for clients.
type Code string

// The codes of SPEC §3. Each transport maps them once.
const (
	Invalid              Code = "invalid"
	Unauthenticated      Code = "unauthenticated"
	Forbidden            Code = "forbidden"
	NotFound             Code = "not_found"
	Conflict             Code = "conflict"
	TooLarge             Code = "too_large"
	UnsupportedMediaType Code = "unsupported_media_type"
	RateLimited          Code = "rate_limited"
	// Unavailable: the node cannot serve now (its store is unreachable).
	Unavailable Code = "unavailable"
	Internal    Code = "internal"
)

// Error is a refusal with a code and a message safe to show to a client.
type Error struct {
	Code    Code
	Message string
	// RetryAfter is set for RateLimited: seconds until a retry may succeed.
	RetryAfter int
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// New returns an *Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err, or Internal when err carries none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the client-safe message of err; internal errors get a
// fixed text so that no detail leaks.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return "internal error"
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// RowError says which of several inputs was refused (0-based Index).
type RowError struct {
	Index int
	Err   error
}

func (e *RowError) Error() string { return e.Err.Error() }
func (e *RowError) Unwrap() error { return e.Err }
