// Package id defines PuddleStore's 160-bit identifiers.
//
// Node ids and overlay keys share one type, [ID]. Tapestry reads an ID as 40
// base-16 digits, most significant first, and routes by shared prefix
// ([ID.Digit], [SharedPrefixLen]); Chord reads the same bits as a point on a
// ring of 2^160 and routes by clockwise distance ([Add], [Sub], [Distance],
// [Between]). A block's overlay key is its SHA-256 ref truncated to 160 bits
// ([Hash]).
//
// The package is pure: no I/O, no clock, and randomness only from a caller's
// seeded generator ([Random]), so protocol cores can use it freely.
package id
