// Package horizon tests Scoria with the OpenStack dashboard in a real browser: Debian's
// openstack-dashboard (Horizon) served by its runserver on a fresh loopback port, logged in
// to the test Keystone, finding the all-in-one `scoria` (auth_strategy = keystone) through a
// region of its own in Keystone's catalog, and driven by headless Chromium through
// chromedriver. walk.py (Python, Debian's python3-selenium) walks one area per sub-test —
// volumes, groups, types, services — and prints one JSON line per step; TestHorizon turns
// each into a sub-test, keeps a screenshot of every step in an artifact directory, and on a
// failure prints the Block Storage requests and answers Horizon logged. Set-up:
// deploy/horizon/horizon-up.sh (packages and Horizon's settings) and
// deploy/keystone/keystone-up.sh. Without them the test skips (and with -short); with
// CI=true it fails. SCORIA_TEST_ARTIFACTS chooses where the artifacts go;
// SCORIA_HORIZON_BIN_DIR runs a `scoria` built elsewhere instead of building this tree's.
package horizon
