// Package mlops is the Go binding of libmlops, an embeddable LLM/ML operations stack.
//
// The functions and methods in zz_generated.go are generated from the C headers
// (bindings/gen/gen.py); this file holds the small hand-written layer they share:
// the Handle type, errors, string conversion, callbacks and OS-thread pinning.
//
// Naming: mlops_<words> with a handle first is a Handle method (mlops_prompt_push is
// h.PromptPush, mlops_chat_stream is h.ChatStream); with another object first it is a
// method of that object without the object's or the module's word (mlops_model_info is
// model.Info, mlops_engine_generate is session.Generate); without either it is a
// package function (mlops_gguf_synth is GGUFSynth).
//
// Every call that can fail returns an error wrapping the library's status code and
// message; compare with errors.Is(err, mlops.ErrNotFound). When the function also fills
// its text out-parameter on failure (a gate's decision), the text is in
// err.(*Error).Detail. JSON inputs and outputs are strings; an empty string passed for
// a parameter whose C name ends in "json", or whose documentation allows NULL, means
// NULL. A caller buffer is a slice; its out_n count is returned even with ErrLimit,
// where it is the size needed. Objects (Model, Session) keep what created them
// reachable and have a finalizer; freeing an object (or closing the handle) frees the
// objects it created first. Callbacks are Go funcs; those given to setters live until
// the handle closes.
package mlops

/*
#cgo pkg-config: mlops
#include <stdlib.h>
#include <mlops.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Error is a libmlops failure: the status code, the C function, and the library's
// sentence naming the problem (mlops_last_error on the calling thread).
type Error struct {
	Code    int
	Op      string
	Message string
	// Detail is text the function returned along with the failure, when it does (for
	// example the decision JSON of a promotion a validation gate refused).
	Detail string
}

func (e *Error) Error() string {
	if e.Op == "" {
		return fmt.Sprintf("mlops: %s (%d)", Strerror(e.Code), e.Code)
	}
	return fmt.Sprintf("%s: %s (%s)", e.Op, e.Message, Strerror(e.Code))
}

// Is makes errors.Is(err, ErrNotFound) match any Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// statusError turns a status into an error. It must run on the OS thread that made
// the call, because the message is thread-local: withOSThread guarantees that.
func statusError(op string, rc C.int) error {
	if rc == 0 {
		return nil
	}
	return &Error{Code: int(rc), Op: op, Message: C.GoString(C.mlops_last_error())}
}

// withOSThread runs fn pinned to one OS thread, so that a call and the read of its
// thread-local error message happen on the same thread.
func withOSThread(fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fn()
}

func cString(s string) *C.char { return C.CString(s) }

// cStringOrNil maps "" to NULL for optional (JSON) arguments.
func cStringOrNil(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func freeCString(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

func goStringOrEmpty(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// takeString copies library-allocated text into Go and releases it with mlops_free.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.mlops_free(unsafe.Pointer(p))
	return s
}

// Callbacks cross into C as a pointer to C memory holding a cgo.Handle, so that no Go
// pointer is stored by C code.
func newCallbackUser(fn interface{}) unsafe.Pointer {
	p := C.malloc(C.size_t(unsafe.Sizeof(C.uintptr_t(0))))
	*(*C.uintptr_t)(p) = C.uintptr_t(cgo.NewHandle(fn))
	return p
}

func callbackFromUser(p unsafe.Pointer) interface{} {
	return cgo.Handle(*(*C.uintptr_t)(p)).Value()
}

func freeCallbackUser(p unsafe.Pointer) {
	if p == nil {
		return
	}
	cgo.Handle(*(*C.uintptr_t)(p)).Delete()
	C.free(p)
}

// Handle is an open libmlops store (mlops_t). Safe for concurrent use by many
// goroutines. Close it when done; a finalizer closes a forgotten one.
type Handle struct {
	ptr *C.mlops_t
	mu  sync.Mutex
	// Callbacks registered with the library through setters, freed at Close.
	callbacks []unsafe.Pointer
	// root lists the objects created through the handle, freed before it closes.
	root objRef
}

func newHandle(p *C.mlops_t) *Handle {
	h := &Handle{ptr: p}
	runtime.SetFinalizer(h, func(h *Handle) { h.Close() })
	return h
}

func (r *Handle) childRefs() *objRef { return &r.root }

// objRef is the C side of an object (a model, a session), shared by its Go wrapper and
// by the list of objects its creator made: freeing the creator first frees what it
// created, so a model freed before its sessions frees them, and no C object outlives
// the one it depends on. The creator's list holds objRefs, not wrappers, so an object
// nobody uses any more is still finalized.
type objRef struct {
	mu       sync.Mutex
	ptr      unsafe.Pointer
	free     func(unsafe.Pointer)
	parent   *objRef
	children map[*objRef]struct{}
}

// refHolder is anything objects can be created from: the handle and the objects.
type refHolder interface{ childRefs() *objRef }

func newObjRef(p unsafe.Pointer, free func(unsafe.Pointer), owner interface{}) *objRef {
	ref := &objRef{ptr: p, free: free}
	if o, ok := owner.(refHolder); ok && o != nil {
		parent := o.childRefs()
		parent.mu.Lock()
		if parent.children == nil {
			parent.children = map[*objRef]struct{}{}
		}
		parent.children[ref] = struct{}{}
		parent.mu.Unlock()
		ref.parent = parent
	}
	return ref
}

// get returns the C pointer, or nil once freed (the C functions then say MLOPS_EINVAL).
func (r *objRef) get() unsafe.Pointer {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ptr
}

func (r *objRef) releaseChildren() {
	r.mu.Lock()
	children := r.children
	r.children = nil
	r.mu.Unlock()
	for c := range children {
		c.mu.Lock()
		c.parent = nil // no need to leave a list that is gone
		c.mu.Unlock()
		c.release()
	}
}

// release frees the objects created from this one, then this one; twice is harmless.
func (r *objRef) release() {
	r.releaseChildren()
	r.mu.Lock()
	p := r.ptr
	r.ptr = nil
	parent := r.parent
	r.parent = nil
	r.mu.Unlock()
	if p != nil && r.free != nil {
		r.free(p)
	}
	if parent != nil {
		parent.mu.Lock()
		delete(parent.children, r)
		parent.mu.Unlock()
	}
}

// keepCallback keeps a setter's callback alive until the handle closes. A replaced
// callback is not freed: the library may still call it while calls in flight finish,
// and may keep one even when the setter fails.
func (r *Handle) keepCallback(user unsafe.Pointer) {
	if user == nil {
		return
	}
	r.mu.Lock()
	r.callbacks = append(r.callbacks, user)
	r.mu.Unlock()
}

// detachCallbacks takes the persistent callbacks out of the handle before it closes;
// they are freed after mlops_close returns, since closing may still log.
func (r *Handle) detachCallbacks() []unsafe.Pointer {
	r.mu.Lock()
	users := r.callbacks
	r.callbacks = nil
	r.mu.Unlock()
	return users
}

func freeCallbackUsers(users []unsafe.Pointer) {
	for _, u := range users {
		freeCallbackUser(u)
	}
}
