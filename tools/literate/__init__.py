"""The tangle core: parse.py -> graph.py -> expand.py -> files.py; tools/tangle.py is its command line.

graph.py, expand.py and errors.py use the standard library only: the page's Python re-tangles with them.
"""
