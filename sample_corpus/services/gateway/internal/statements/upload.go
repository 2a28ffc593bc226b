package statements

/*
#cgo LDFLAGS: -lstmtparse
#include "stmtparse.h"
*/
import "C"

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unsafe"
)

var (
	ErrTooLarge  = errors.New("statement file larger than the upload limit")
	ErrDuplicate = errors.New("statement file already uploaded in the last 90 days")
	ErrParse     = errors.New("statement could not be parsed")
)

// Result is the body of a 202 Accepted upload response.
type Result struct {
	StatementID string `json:"statement_id"`
	Format      string `json:"format"`
	Lines       int    `json:"lines"`
}

// Uploader validates statement files, stores them and publishes their lines.
type Uploader struct {
	maxBytes int64
	seen     map[string]string // sha256 -> statement id, last 90 days
}

// NewUploader accepts files up to maxBytes (50 MB in production).
func NewUploader(maxBytes int64) *Uploader {
	return &Uploader{maxBytes: maxBytes, seen: map[string]string{}}
}

// Upload reads one statement file, rejects duplicates and oversize files, and parses it.
func (u *Uploader) Upload(ctx context.Context, bankCode string, body io.Reader) (Result, error) {
	data, err := io.ReadAll(io.LimitReader(body, u.maxBytes+1))
	if err != nil {
		return Result{}, err
	}
	if int64(len(data)) > u.maxBytes {
		return Result{}, ErrTooLarge
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	if _, dup := u.seen[digest]; dup {
		return Result{}, ErrDuplicate
	}
	var stmt C.stmt_statement
	rc := C.stmt_parse((*C.char)(unsafe.Pointer(&data[0])), C.size_t(len(data)), &stmt)
	if rc != C.STMT_OK {
		return Result{}, fmt.Errorf("%w: %s", ErrParse, C.GoString(C.stmt_strerror(rc)))
	}
	defer C.stmt_free(&stmt)
	id := "st_" + digest[:12]
	u.seen[digest] = id
	return Result{StatementID: id, Format: C.GoString(C.stmt_format_name(stmt.format)), Lines: int(stmt.n_lines)}, nil
}

// Get returns a previously uploaded statement's metadata.
func (u *Uploader) Get(ctx context.Context, id string) (Result, error) {
	for _, known := range u.seen {
		if known == id {
			return Result{StatementID: id}, nil
		}
	}
	return Result{}, errors.New("not found")
}

// HTTPStatus maps an upload error to the API's status and error code.
func HTTPStatus(err error) (int, string) {
	switch {
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "payload_too_large"
	case errors.Is(err, ErrDuplicate):
		return http.StatusConflict, "duplicate_statement"
	case errors.Is(err, ErrParse):
		return http.StatusUnprocessableEntity, "parse_error"
	default:
		return http.StatusInternalServerError, "internal"
	}
}
