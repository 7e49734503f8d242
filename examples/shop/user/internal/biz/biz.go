// Package biz is the user service's use cases: registration, login and
// look-ups. Storage is behind UserRepo, implemented in package data.
package biz
