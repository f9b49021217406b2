package formats

import (
	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/formats/asterisk"
	"github.com/cdrpipe/cdrpipe/pipeline/formats/delimited"
	"github.com/cdrpipe/cdrpipe/pipeline/formats/freeswitch"
	"github.com/cdrpipe/cdrpipe/pipeline/formats/tgpp"
)

func init() {
	makers["csv"] = func(c config.Config) (Parser, error) { return delimited.New(c.Input.CSV, c.Input.SwitchID) }
	makers["asterisk-csv"] = func(c config.Config) (Parser, error) {
		return asterisk.New(c.Input.Asterisk.Columns, c.Input.SwitchID)
	}
	makers["freeswitch-csv"] = func(c config.Config) (Parser, error) {
		return freeswitch.NewCSV(c.Input.FreeSWITCH.Columns, c.Input.SwitchID)
	}
	makers["freeswitch-json"] = func(c config.Config) (Parser, error) { return freeswitch.NewJSON(c.Input.SwitchID), nil }
	makers["3gpp-ber"] = func(c config.Config) (Parser, error) { return tgpp.New(c.Input.SwitchID), nil }
}
