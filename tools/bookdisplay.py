"""How the book's executed cells show pictures: vector graphics on the site and in the PDF.

The site shows SVG; the LaTeX builder takes a PDF rendering when a cell offers
one (myst-nb's mime priority). So matplotlib figures and graphviz graphs are
offered in both formats. Called from each chapter's setup cell (tools/chunks.py).
"""


def setup() -> None:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:  # plain Python: nothing to display
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("svg", "pdf")
    pdf = shell.display_formatter.formatters["application/pdf"]
    pdf.enabled = True
    pdf.for_type_by_name("graphviz.graphs", "Digraph", lambda graph: graph.pipe(format="pdf"))
    pdf.for_type_by_name("graphviz.graphs", "Graph", lambda graph: graph.pipe(format="pdf"))
