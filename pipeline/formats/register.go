package formats

import (
	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/formats/delimited"
)

func init() {
	makers["csv"] = func(c config.Config) (Parser, error) { return delimited.New(c.Input.CSV, c.Input.SwitchID) }
}
