package launch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backend"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/target"
)

func TestTargetHelper(t *testing.T) {
	for _, tc := range []struct {
		name    string
		section string
		want    string // "none", "tgtadm", or the start of the error
	}{
		{"local file without target_helper", "", "none"},
		{"local file with tgtadm", "target_helper = tgtadm\n", "tgtadm"},
		{"explicit none", "target_helper = none\n", "none"},
		{"lioadm is refused", "target_helper = lioadm\n", "error: "},
		{"iser is refused", "target_helper = tgtadm\ntarget_protocol = iser\n", "error: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "scoria.conf")
			body := "[DEFAULT]\nenabled_backends = local\nstate_path = " + dir + "\n[local]\nvolume_driver = localfile\nlocal_volume_dir = " + dir + "/v\n" +
				"use_chap_auth = true\ntarget_port = 3261\n" + tc.section
			if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load([]string{conf}, nil)
			if err != nil {
				t.Fatal(err)
			}
			b := cfg.Backends[0]
			drv, err := backend.New(b, dir)
			if err != nil {
				t.Fatal(err)
			}
			ex, err := targetHelper(b, drv, logrus.New())
			switch {
			case strings.HasPrefix(tc.want, "error"):
				if err == nil {
					t.Fatalf("no error; helper %v", ex)
				}
			case err != nil:
				t.Fatal(err)
			case tc.want == "none":
				if ex != nil {
					t.Fatalf("helper %#v, want none", ex)
				}
			default:
				tg, ok := ex.(*target.TGT)
				if !ok || tg.Port != 3261 || !tg.UseCHAP || tg.IPAddress != cfg.Default.MyIP || tg.Prefix != "iqn.2010-10.org.openstack:" ||
					tg.VolumesDir != dir+"/volumes" || !tg.WriteCache {
					t.Fatalf("helper %#v", ex)
				}
			}
		})
	}
}
