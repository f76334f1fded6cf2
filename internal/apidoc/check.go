// Package apidoc holds tests to the API's OpenAPI document
// (internal/httpapi/openapi.json): a Checker that validates every answer a
// test receives, and every frame of the event stream, against it. The
// document's schemas as Go types, for tests to decode into so that no test
// keeps its own copy of a shape, are in the subpackage apitypes (generated
// by gen).
//
// It takes the document as bytes rather than importing httpapi, so that
// httpapi's own tests can use it too. Only tests and votest import it; the
// server never does.
package apidoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
)

// Checker validates answers against the document. It is safe for
// concurrent use.
type Checker struct {
	mu     sync.Mutex // the validator's caches are not documented as safe to share
	v      validator.Validator
	frames schema_validation.SchemaValidator
	// frameSchemas are the schemas of the stream's server frames by their
	// type; a frame may have one of several shapes (contact).
	frameSchemas map[string][]*base.Schema
}

// New reads the document, refusing one that is not valid OpenAPI 3.1.
func New(doc []byte) (*Checker, error) {
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("apidoc: %w", err)
	}
	v, errs := validator.NewValidator(d, config.WithFormatAssertions())
	if len(errs) > 0 {
		return nil, fmt.Errorf("apidoc: %w", errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("apidoc: the document is not valid OpenAPI: %s", describe(verrs))
	}
	m, err := d.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("apidoc: %w", err)
	}
	c := &Checker{v: v, frames: schema_validation.NewSchemaValidator(config.WithFormatAssertions()), frameSchemas: map[string][]*base.Schema{}}
	server := m.Model.Components.Schemas.GetOrZero("ServerFrame")
	if server == nil {
		return nil, errors.New("apidoc: the document has no ServerFrame schema")
	}
	for _, p := range server.Schema().OneOf {
		s := p.Schema()
		t := s.Properties.GetOrZero("type")
		if t == nil || t.Schema().Const == nil {
			return nil, fmt.Errorf("apidoc: a ServerFrame (%s) has no constant type", p.GetReference())
		}
		typ := t.Schema().Const.Value
		c.frameSchemas[typ] = append(c.frameSchemas[typ], s)
	}
	return c, nil
}

// Check validates one answer to req: its status must be one the document
// lists for the operation, and its Content-Type, headers and body must be
// as described. An answer to a path the document does not describe passes
// only as the API's 404 for an unknown endpoint; paths outside /api/ and
// /healthz (the web app) are not the API's and pass.
func (c *Checker) Check(req *http.Request, status int, header http.Header, body []byte) error {
	p := req.URL.Path
	if !strings.HasPrefix(p, "/api/") && p != "/healthz" {
		return nil
	}
	res := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	c.mu.Lock()
	ok, errs := c.v.ValidateHttpResponse(req, res)
	c.mu.Unlock()
	if ok {
		return nil
	}
	if unknownEndpoint(errs) {
		if status == http.StatusNotFound && isNotFoundError(body) {
			return nil
		}
		return fmt.Errorf("%s %s is not in the API document, and its answer %d %s is not the API's 404 for an unknown endpoint",
			req.Method, p, status, clip(body))
	}
	return fmt.Errorf("%s %s answered %d, which the API document does not allow: %s; body %s", req.Method, p, status, describe(errs), clip(body))
}

// CheckFrame validates a text frame that the event stream sent. Frames of
// types the document does not describe pass: later features add their own.
func (c *Checker) CheckFrame(frame []byte) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(frame, &head); err != nil {
		return fmt.Errorf("event frame is not a JSON object: %v: %s", err, clip(frame))
	}
	schemas := c.frameSchemas[head.Type]
	if len(schemas) == 0 {
		return nil
	}
	var why []string
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range schemas {
		ok, errs := c.frames.ValidateSchemaBytes(s, frame)
		if ok {
			return nil
		}
		why = append(why, describe(errs))
	}
	return fmt.Errorf("%q frame does not match the API document: %s; frame %s", head.Type, strings.Join(why, "; or "), clip(frame))
}

func unknownEndpoint(errs []*liberrors.ValidationError) bool {
	for _, e := range errs {
		if e.ValidationType == helpers.PathValidation &&
			(e.ValidationSubType == helpers.ValidationMissing || e.ValidationSubType == helpers.ValidationMissingOperation) {
			return true
		}
	}
	return false
}

// isNotFoundError reports whether body is exactly {"error": {"code":
// "not_found", "message": "..."}}.
func isNotFoundError(body []byte) bool {
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(&e) == nil && e.Error != nil && e.Error.Code == "not_found" && e.Error.Message != ""
}

func describe(errs []*liberrors.ValidationError) string {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Message)
		if e.Reason != "" && e.Reason != e.Message {
			b.WriteString(" (" + e.Reason + ")")
		}
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, " [%s: %s]", f.FieldPath, f.Reason)
		}
	}
	return b.String()
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
