package plan
import "testing"
func TestZZNullEnv(t *testing.T){
	doc, _ := ReadDocument("x.yaml", []byte("golive: 1\nname: x\nenvironments:\n  dev:\ntargets: {hosts: {a: {transport: local}}}\nstages: [{name: s, on: a, steps: [{name: x, run: 'true', backout: 'true'}]}]\n"))
	p, d := doc.Decode("dev")
	if !d.HasErrors() { p.File="x.yaml"; d = append(d, Validate(p)...) }
	t.Log(d.Sorted())
}
