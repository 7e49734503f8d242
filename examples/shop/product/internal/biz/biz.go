// Package biz is the product service's use cases: the catalogue, and its
// stock, which never goes below zero however many orders take it at once.
// Storage is behind ProductRepo, implemented in package data.
package biz
