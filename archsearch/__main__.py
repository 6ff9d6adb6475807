"""`python -m archsearch`: the console script, as a module (a server started by a command runs so)."""

import os
import sys

# `-m` puts the folder the command runs in first on sys.path (unless -P or -I), where the console
# script has its own folder: every module imported afterwards would be looked for among whatever
# that folder holds (a user's articles), and archsearch.kept_modules would keep the modules' code per
# folder, and read and write it all again (2.4 MB) whenever a file is added there. Left there only
# when archsearch itself was found in it (run from its source tree): its worker processes import
# archsearch again along this sys.path.
try:
    working_folder = os.getcwd()
except OSError:  # removed: -m put no folder first then
    working_folder = None
if (
    not sys.flags.safe_path and working_folder is not None and sys.path[:1] == [working_folder]
    and os.path.dirname(os.path.dirname(os.path.abspath(__file__))) != working_folder
):
    del sys.path[0]

from archsearch.client import main  # noqa: E402  (after sys.path is settled)

main()
