"""Run ansible-inventory --list on many inventories in one Python process.

ansible-inventory takes a second or two to start; the differential test
(ansible_test.go) runs this with the interpreter of ansible-inventory
instead, which calls the same InventoryCLI once per inventory:

    python3 ansible_list.py OUT_DIR INVENTORY...

For the i-th inventory it writes OUT_DIR/i.json (the --list output) or
OUT_DIR/i.err (why ansible-inventory failed).
"""
import os
import sys

from ansible import context
from ansible.cli.inventory import InventoryCLI
from ansible.utils.context_objects import GlobalCLIArgs


def main():
    out_dir, paths = sys.argv[1], sys.argv[2:]
    for i, path in enumerate(paths):
        # Each run parses its own arguments: forget the previous ones.
        GlobalCLIArgs._Singleton__instance = None
        context.CLIARGS = context.CLIArgs({})
        out = os.path.join(out_dir, "%d.json" % i)
        try:
            InventoryCLI(["ansible-inventory", "-i", path, "--list", "--output", out]).run()
        except SystemExit:
            pass
        except Exception as e:  # an inventory Ansible refuses
            with open(os.path.join(out_dir, "%d.err" % i), "w") as f:
                f.write("%s: %s\n" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
