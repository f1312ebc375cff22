// Package keyscan finds unencrypted private keys in a directory tree. smki
// keeps every private key of the service in its KMS (softkms files
// encrypted with the passphrase, or a PKCS#11 token); tests use this
// package to prove that no plaintext key is left in a data directory.
package keyscan
