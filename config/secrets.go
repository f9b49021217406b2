package config

import (
	"fmt"
	"os"
	"strings"
)

// secretSetting is a secret whose value may come from a file instead: key
// holds the value, key_file names the file.
type secretSetting struct {
	key   string
	value *string
	file  string
}

func (c *Config) secrets() []secretSetting {
	return []secretSetting{
		{"clickhouse.password", &c.ClickHouse.Password, c.ClickHouse.PasswordFile},
		{"kafka.sasl.password", &c.Kafka.SASL.Password, c.Kafka.SASL.PasswordFile},
		{"privacy.callee_key", &c.Privacy.CalleeKey, c.Privacy.CalleeKeyFile},
	}
}

// ReadSecrets fills each secret whose *_file key is set from that file
// (its content, less a final newline), so that secrets can be mounted
// files rather than values in a config file or the environment. Setting
// both the value and the file is an error, as is a file that cannot be
// read.
func (c *Config) ReadSecrets() error {
	for _, s := range c.secrets() {
		if s.file == "" {
			continue
		}
		if *s.value != "" {
			return &Error{Key: s.key + "_file", Msg: fmt.Sprintf("set either %s or %s_file, not both", s.key, s.key)}
		}
		b, err := os.ReadFile(s.file)
		if err != nil {
			return &Error{Key: s.key + "_file", Msg: fmt.Sprintf("cannot read the secret: %v", err)}
		}
		*s.value = strings.TrimRight(string(b), "\r\n")
	}
	return nil
}

// IsSecret reports whether key holds a secret, whose value is never
// printed or logged.
func IsSecret(key string) bool {
	return strings.HasSuffix(key, "password") || strings.HasSuffix(key, "secret") || strings.HasSuffix(key, "_key")
}
