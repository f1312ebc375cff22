// Package errcodes owns what a stable error code looks like. Its test
// keeps the stable error codes and their documentation together. Every E_ code any package of smki
// can return or print (a sentinel such as errors.New("E_REPO_NOT_FOUND"),
// or a code at the start of a message) must have a row in the error code
// reference of docs/api.md ("## Every error code") saying what it means
// and what to do next, and every row there must name a code the source
// still has, so the reference is never short of a code nor stale.
//
// Coded is the one check, for tests (fuzz targets above all), that a
// refusal a user may see starts with such a code and holds no library
// text (internal/librarytext). No product code imports this package.
package errcodes
