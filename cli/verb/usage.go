package verb

import (
	"fmt"
	"regexp"
	"strings"
)

// The flag errors urfave/cli passes on from the flag package, as their
// texts give them (pinned by cli's TestUsageErrorsCoded: an upgrade that
// changes one fails it). FlagUsageErr says each in smki's words.
var (
	undefinedFlagText = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	flagNoValueText   = regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
	flagBadValueText  = regexp.MustCompile(`^invalid (?:boolean )?value (".*") for flag -+([^:]*): `)
)

// FlagName is name as a user types it: --name, or -n for one letter.
func FlagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagsHelp is where the flags of verbPath (as "smki enroll") are listed.
func flagsHelp(verbPath string) string {
	return fmt.Sprintf("run '%s --help' for its flags", verbPath)
}

// UnknownFlagErr: verbPath has no flag called name (E_USAGE, exit 2).
func UnknownFlagErr(verbPath, name string) error {
	return UsageErr("%v: %s has no flag %s: %s", ErrUsage, verbPath, FlagName(name), flagsHelp(verbPath))
}

// RequiredFlagsErr: verbPath was given without its required flags names
// (E_USAGE, exit 2).
func RequiredFlagsErr(verbPath string, names []string) error {
	flags := make([]string, len(names))
	for i, n := range names {
		flags[i] = FlagName(n)
	}
	return UsageErr("%v: %s needs %s: %s", ErrUsage, verbPath, strings.Join(flags, ", "), flagsHelp(verbPath))
}

// FlagValueMissingErr: flag name of verbPath was given without its value.
func FlagValueMissingErr(verbPath, name string) error {
	return UsageErr("%v: %s needs a value: %s", ErrUsage, FlagName(name), flagsHelp(verbPath))
}

// FlagValueErr: value is not one flag name of verbPath takes.
func FlagValueErr(verbPath, name, value string) error {
	return UsageErr("%v: %s %q is not a valid value: %s", ErrUsage, FlagName(name), value, flagsHelp(verbPath))
}

// FlagUsageErr is err, a flag urfave/cli could not parse for verbPath, as
// E_USAGE (exit 2) in smki's words.
func FlagUsageErr(verbPath string, err error) error {
	msg := err.Error()
	if m := undefinedFlagText.FindStringSubmatch(msg); m != nil {
		return UnknownFlagErr(verbPath, m[1])
	}
	if m := flagNoValueText.FindStringSubmatch(msg); m != nil {
		return FlagValueMissingErr(verbPath, m[1])
	}
	if m := flagBadValueText.FindStringSubmatch(msg); m != nil {
		return UsageErr("%v: %s %s is not a valid value: %s", ErrUsage, FlagName(m[2]), m[1], flagsHelp(verbPath))
	}
	return UsageErr("%v: %s: %s", ErrUsage, msg, flagsHelp(verbPath))
}
