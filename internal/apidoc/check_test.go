package apidoc

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

const presence = `{"status":"available","status_until":null,"message":null,"message_expires_at":null,"shown":"available","activity":null,"version":1}`

func TestChecker(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../httpapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(doc)
	if err != nil {
		t.Fatal(err)
	}
	jsonCT := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	answers := []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		ok                 bool
	}{
		{"a described answer", "GET", "/api/v1/users/u1", 200, jsonCT,
			`{"id":"u1","name":"Ann","email":"ann@acme.test","extension":"101","phone_number":null,"photo_url":null,"presence":{"shown":"busy","activity":null,"message":null,"version":3}}`, true},
		{"a field missing", "GET", "/api/v1/users/u1", 200, jsonCT,
			`{"id":"u1","name":"Ann","email":"ann@acme.test","extension":"101","phone_number":null,"photo_url":null,"presence":{"shown":"busy","activity":null,"version":3}}`, false},
		{"a status the operation does not list", "GET", "/api/v1/me", 409, jsonCT, `{"error":{"code":"conflict","message":"x"}}`, false},
		{"an error code that is not the status's", "GET", "/api/v1/me", 401, jsonCT, `{"error":{"code":"forbidden","message":"x"}}`, false},
		{"another content type", "GET", "/api/v1/me", 401, http.Header{"Content-Type": {"text/plain"}}, `no`, false},
		{"an unknown endpoint's 404", "GET", "/api/v1/nope", 404, jsonCT, `{"error":{"code":"not_found","message":"no such endpoint"}}`, true},
		{"an unknown endpoint answering 200", "GET", "/api/v1/nope", 200, jsonCT, `{}`, false},
		{"the web app is not the API", "GET", "/index.html", 200, http.Header{"Content-Type": {"text/html"}}, `<html>`, true},
	}
	for _, a := range answers {
		req, _ := http.NewRequest(a.method, "http://vo.test"+a.path, nil)
		err := c.Check(req, a.status, a.header, []byte(a.body))
		if (err == nil) != a.ok {
			t.Errorf("%s: Check = %v, want ok %v", a.name, err, a.ok)
		}
	}
	frames := []struct {
		frame string
		ok    bool
	}{
		{`{"type":"snapshot","cursor":"5","presence":[],"me":` + presence + `}`, true},
		{`{"type":"snapshot","cursor":"5","presence":[]}`, false},
		{`{"type":"contact","cursor":"6","user_id":"u1","removed":true}`, true},
		{`{"type":"contact","cursor":"6","user_id":"u1"}`, false},
		{`{"type":"meeting","cursor":"7","anything":1}`, true}, // a type the document does not describe yet
		{`{"type":"message","cursor":"7","anything":1}`, false},
		{`not json`, false},
	}
	for _, f := range frames {
		if err := c.CheckFrame([]byte(f.frame)); (err == nil) != f.ok {
			t.Errorf("CheckFrame(%s) = %v, want ok %v", f.frame, err, f.ok)
		}
	}
	if _, err := New([]byte(strings.Replace(string(doc), `"openapi": "3.1.0"`, `"openapi": 3`, 1))); err == nil {
		t.Error("New took a document that is not OpenAPI")
	}
}
