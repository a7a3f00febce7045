// Package e2e holds end-to-end tests of golive over real SSH: a `golive`
// binary (built once by TestMain) releases the quickstart demo server
// (examples/quickstart/app, also built once) to the hosts of a test fleet
// (internal/fleet: real OpenSSH sshd hosts in network namespaces), and the
// tests check what every host serves by asking it over HTTP from the test
// process, as a user would.
//
// Every test starts its own fleet of five hosts h0..h4 (so each has its own
// subnet and every host's demo server can use port 8080), writes the plan
// testdata/ssh.yaml beside a generated inventory.ini (group web, one line
// per host with ansible_host=ADDRESS) and dist/ (demo-VERSION.tar.gz and
// SHA256SUMS), and drives golive as a subprocess with the fleet's key and
// known_hosts in its environment. The rollout is the canary h0, then [h1 h2],
// then [h3 h4]. A step stops or fails on one host when the test writes a
// file into that host's /srv/sync (see the plan's comments).
//
// The tests skip, saying why, when this machine cannot run a fleet (not
// root, no sshd, no network namespaces). The package has no non-test code
// besides this comment.
package e2e
