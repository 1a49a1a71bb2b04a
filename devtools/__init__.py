"""Developer tools that are not part of the deployed Functions app (.funcignore leaves this folder out): the
local demo (demo.py)."""
