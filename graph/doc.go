// Package graph holds the Gorgonia ops that attend needs and Gorgonia v0.9.18 lacks or
// gets wrong.
package graph
