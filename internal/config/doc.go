// Package config reads Scoria's configuration: the operator's existing cinder.conf, in the INI
// dialect of oslo.config, layered from several files and the environment into typed structs.
//
// # Files
//
// [ParseArgs] takes oslo's --config-file and --config-dir from a command line; [Load] reads the
// files in that order and a later file wins, key by key. The INI rules are oslo.config's
// (oslo_config/iniparser.py and cfg.py):
//
//   - "key = value" or "key: value"; lines starting with # or ; are comments; there are no
//     inline comments ("a # b" is the value "a # b"); one pair of matching surrounding quotes
//     is removed; an indented line continues the previous value (joined with a newline).
//   - [DEFAULT] is the default section, spelled exactly so; every other section name is
//     case-insensitive ([LVM-1] is [lvm-1]), so [default] is an unknown section.
//   - Booleans are true/false, yes/no, on/off, 1/0 in any case; lists are comma-separated with
//     blanks trimmed; an empty value of a number or boolean means its default.
//   - Values may refer to other options as $name or ${name}, looked up in the same section,
//     then in [DEFAULT]; ${section.name} names the section; $$ is a literal $. Defaults take
//     part ($state_path is /var/lib/scoria unless set). Scoria expands the values it reads
//     (its own options and every key of an enabled backend) when loading; a reference there
//     to an option that is neither set nor implemented is an error, as it is in oslo.config
//     when the option is read. As in oslo, "$state_path.bak" names ${state_path.bak}: write
//     "${state_path}.bak".
//
// # Environment
//
// SCORIA_<SECTION>__<KEY>=value overrides every file, e.g. SCORIA_DEFAULT__DEBUG=true or
// SCORIA_LVMDRIVER_1__VOLUME_GROUP=vg0. The section is matched without regard to case, with
// any character other than a letter or a digit written as '_'. Variables without the double
// underscore (SCORIA_TEST_MYSQL_URL) are not configuration and are left alone.
//
// # What is read, what is ignored
//
// The options Scoria implements are declared once, one line each, in the tables of
// options.go; [Options] lists them and [Sample] writes etc/scoria.conf.sample from them. A
// bad value of one of them is an [*Error] naming the file, section and key. Every other
// option, in any section, is accepted and listed in [Config.Ignored] for the caller to log:
// cinder.conf carries many options Scoria has no use for, and rejecting them would make an
// existing file unusable. Each section named in enabled_backends becomes a [Backend]; the
// driver reads its own options through the Backend's typed accessors (reading marks an
// option used, as [Backend.Use] does), and [Backend.UnusedKeys] tells which ones no one read.
//
// # Why viper and ini.v1 this way
//
// Viper holds the layers: every file's values are merged into one viper instance in command
// line order (MergeConfigMap, later file wins per key) and the environment goes into viper's
// override layer above them. Viper 1.21 has no INI codec, and a generic codec could not say
// what oslo says anyway: [DEFAULT] is case-sensitive while other section names are not, a key
// must be traced back to the file that set it for messages, and $references cross sections.
// So each file is parsed by gopkg.in/ini.v1, set up to behave like oslo's parser, into a map
// of sections that is handed to viper. Section names are encoded so that [DEFAULT] and a
// section named [default] stay apart under viper's case folding, and viper's key delimiter is
// a newline, which can appear in neither a section name nor a key. The environment is passed
// to Load as a slice rather than read with viper's AutomaticEnv: tests need no process-global
// state, and AutomaticEnv only answers for keys viper already knows, while an override may
// set a key that no file mentions.
//
// Known differences from oslo.config, all lenient: option names are case-insensitive (viper
// folds them); a key before the first section header belongs to [DEFAULT] (oslo refuses the
// file); an indented line with nothing before it is a key (oslo refuses it); ini.v1 also
// strips `backquotes` and """triple quotes""" around a value, and keeps quotes that appear
// inside one ('a' b 'c').
package config
