"""The tangle core: parse (parse.py) -> chunk graph (graph.py) -> expand (expand.py) -> write (files.py).

graph.py, expand.py and errors.py use the standard library only, so the page's Python
can re-tangle edited chunks with them (expand.tangle_pieces). tools/tangle.py is the command.
"""
