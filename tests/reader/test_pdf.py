"""The PDF as a reader finds it, read with poppler (pdfinfo, pdftotext, pdftohtml) and its LaTeX log."""
import re
import subprocess

import measure
from measure import MIN_GRAPH_TEXT_PT, compact, no_problems

import tangle


def test_the_pdf_has_pages(pdf):
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = re.search(r"^Pages:\s+(\d+)", info, re.M)
    measure.fact("pdf pages", pages.group(1) if pages else "?")
    no_problems([] if pages and int(pages.group(1)) > 0 else ["pdfinfo reports no pages"])


def test_every_chapter_title_is_in_the_pdf(pdf_text):
    text, titles = compact(pdf_text), tangle.chapter_titles(measure.ROOT)
    no_problems([f"title {title!r} ({chapter}) not found" for chapter, title in titles.items()
                 if chapter != "book/index.md" and compact(title) not in text])


def test_every_chunk_listing_is_in_the_pdf(pdf_text):
    text, blocks = compact(pdf_text), tangle.parse_book(measure.ROOT)
    measure.fact("chunk listings", str(len(blocks)))
    missing = [f"chunk «{b.name}» ({b.where}) not found" for b in blocks if compact(b.name) not in text]
    first_lines = [(b, measure.first_line(b)) for b in blocks]
    no_problems(missing + [f"the first line of «{b.name}» ({b.where}) not found" for b, line in first_lines
                           if line and compact(line) not in text])


def test_the_index_of_chunks_and_names_lists_every_chunk(pdf_text):
    """The index is the book's last appendix: from its first page (its title, entries with «») to the end."""
    pages = pdf_text.split("\f")
    first = next((n for n, p in enumerate(pages) if "index of chunks and names" in p.lower() and "«" in p), None)
    if first is None:
        no_problems(["PDF: no index of chunks and names"])
    index = re.sub(r"[\s\-]+", "", "".join(pages[first:]))  # LaTeX breaks and hyphenates long names
    names = sorted({block.name for block in tangle.parse_book(measure.ROOT)})
    no_problems([f"PDF index: no entry for «{name}»" for name in names
                 if re.sub(r"[\s\-]+", "", f"«{name}»") not in index])


def test_every_caption_s_link_to_the_index_is_defined(pdf):
    log = pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    undefined = re.findall(r"Hyper reference `([^']*a4-index:[^']*)' on page", "".join(log.splitlines()))  # unwrapped
    no_problems([f"PDF: the link to {label} is undefined" for label in sorted(set(undefined))])


def test_no_line_of_code_or_output_wraps_in_the_pdf(pdf_text):
    no_problems([f"wrapped: {line[:70]!r}" for line in measure.wrapped_lines(pdf_text)])


def test_no_file_path_is_hyphenated(pdf_text):
    no_problems(measure.hyphenated_paths(pdf_text, tangle.tangle(measure.ROOT).files))


def test_appendix_listings_are_numbered_a1_b1(pdf_text):
    appendices = [part["caption"] for part in measure.toc_parts() if not part.get("numbered")]
    no_problems(measure.unlettered_listings(pdf_text, appendices[-1]) if appendices else [])


def test_the_contents_are_titled_contents(pdf_lines):
    no_problems(measure.contents_title(pdf_lines))


def test_every_part_has_its_title_in_the_pdf(pdf_lines):
    no_problems(measure.missing_parts(pdf_lines, [part["caption"] for part in measure.toc_parts()]))


def test_no_page_holds_fewer_than_three_lines_except_openers_and_figures(pdf_lines):
    no_problems(measure.sparse_pages(pdf_lines))


def test_graph_labels_print_at_7_pt_or_more(pdf_lines):
    sizes = measure.graph_label_sizes(pdf_lines)
    if sizes:
        measure.fact("smallest graph label in the PDF", f"{min(size for _, size in sizes):.1f} pt")
    no_problems([f"page {page}: {size:.1f} pt" for page, size in sizes if size < MIN_GRAPH_TEXT_PT])


def test_every_character_has_a_glyph(pdf):
    """A glyph the font lacks is silently dropped from the PDF; only the LaTeX log says so."""
    log, tex = pdf.with_suffix(".log"), pdf.with_suffix(".tex")
    no_problems([] if log.is_file() else [f"pdf: the LaTeX log {log} does not exist"])
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    glyphs = [line.strip() for line in lines if line.startswith("Missing character")]
    overfull = [line for line in lines if line.startswith("Overfull \\hbox")]
    measure.fact("overfull hboxes", str(len(overfull)))
    measure.fact("overfull vboxes", str(sum(line.startswith("Overfull \\vbox") for line in lines)))
    worst = sorted(overfull, key=lambda line: -float(re.search(r"\(([\d.]+)pt", line).group(1)))[:3]
    for n, line in enumerate(worst, 1):
        measure.fact(f"overfull ({n})", line)
    if tex.is_file():
        measure.fact("figures in the PDF", str(tex.read_text(encoding="utf-8").count("includegraphics")))
    no_problems([f"{glyphs.count(line)} x {line}" for line in sorted(set(glyphs), key=glyphs.count, reverse=True)])
