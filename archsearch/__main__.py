"""`python -m archsearch`: the console script, as a module (a server started by a command runs so)."""

from archsearch.client import main

main()
