package servecmd

// NewLogger is newLogger for the external tests (package servecmd_test,
// which drive `smki serve` through cli.Main).
var NewLogger = newLogger

// LoadServeFile is loadServeFile for the external tests.
var LoadServeFile = loadServeFile
