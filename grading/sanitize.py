"""Everything a student's notebook puts into a page that a grader or a student will open, made inert.

Formgrader shows the autograded notebook to the instructor, with the instructor's session; the feedback page is
built from it. Whatever the student wrote there is hostile input, in more places than the outputs' HTML:

- **markdown cells**: rendered as nbconvert renders them (mistune, which keeps ``javascript:`` links), the HTML is
  cleaned with nh3 (Ammonia, a maintained sanitiser) and compared with what was rendered; a cell whose rendering
  had anything active or fetching (a script, an event handler, a ``javascript:`` or ``data:`` URL, a remote image,
  a frame, a style) keeps its text, shown as text in a code block, with a note;
- **outputs**: only text, HTML (cleaned with nh3), Markdown (as above), LaTeX and PNG/JPEG/GIF images are kept;
  JavaScript, SVG, widgets and every other kind are dropped with a note; image data must be base64;
- **output metadata**: only an image's ``width``/``height`` (positive integers), ``unconfined`` (a boolean) and
  ``needs_background`` (``light``/``dark``) are kept: nbconvert's classic template, which Formgrader uses, writes
  ``width`` into the ``<img>`` tag unquoted;
- **attachments**: PNG/JPEG/GIF only, base64 only;
- **MathJax commands that make links or load code** (``\\href``, ``\\url``, ``\\class``, ``\\cssId``, ``\\style``,
  ``\\require``, ``\\unicode``, ``\\data``, ``\\html``) are broken up wherever MathJax would typeset them;
- **cell ids, tags, execution counts and the notebook's own metadata** that a template writes into the page are
  checked against what Jupyter allows.

:class:`SanitizeNotebook` is an nbgrader preprocessor for the autograde and feedback pipelines (it runs on
every cell; nothing is optional). :func:`sanitize_notebook` does the same on a notebook in hand.
"""

import base64
import binascii
import copy
import hashlib
import re
from html.parser import HTMLParser

import nh3
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

from .safe_files import STUDENT_ID, check_student_id, valid_student_id  # noqa: F401 (the id helpers live there)

MARK = "[nn-grading]"
NOTE = "removed for safety"

#: HTML that may stay: text formatting, lists, tables, code, links, images of the notebook's own attachments.
TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt", "em", "h1",
        "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small",
        "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
        "var"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
              "td": {"colspan", "rowspan", "style"}, "th": {"colspan", "rowspan", "style"},
              "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
              "ol": {"start"}, "table": {"border"}, "*": {"class"}}
URL_SCHEMES = {"http", "https", "mailto"}
STYLE_PROPERTIES = {"text-align"}
#: Output kinds that may stay; everything else (JavaScript, SVG, widgets, PDFs, ...) is dropped.
TEXT_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
#: MathJax commands that make links, set attributes or load code.
MATHJAX_ACTIVE = re.compile(r"\\(?=(?:href|url|class|cssId|style|require|unicode|data|html|mmlToken|attr)\b)")
CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TAG = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
SIMPLE = re.compile(r"[\w .+()-]{0,100}")


def _keep_attribute(element, attribute, value):
    """nh3's attribute filter: an image only from the notebook's own attachments (nothing fetched from elsewhere,
    no data: URL); sizes only as numbers."""
    if element == "img" and attribute == "src":
        return value if value.startswith("attachment:") else None
    if attribute in ("width", "height", "colspan", "rowspan", "start", "border"):
        return value if value.isdigit() and len(value) < 6 else None
    return value


def clean_html(html):
    """``html`` with nothing active or fetching left (nh3, with the course's allow-lists)."""
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_keep_attribute, url_schemes=URL_SCHEMES,
                     filter_style_properties=STYLE_PROPERTIES, link_rel="noopener noreferrer nofollow",
                     strip_comments=True, clean_content_tags={"script", "style"})


#: What makes HTML active or fetching: the note in a cleaned output names only these (a pandas table's border is
#: cleaned away without a note).
ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input", "button",
               "textarea", "select", "meta", "link", "base", "style", "svg", "math", "video", "audio", "source",
               "track", "picture", "portal", "template", "img", "image"}
URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "data", "poster", "background", "xlink:href",
                  "ping", "srcdoc", "lowsrc", "dynsrc"}


class _Active(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag in ACTIVE_TAGS and not (tag == "img" and all(
                k != "src" or (v or "").startswith("attachment:") for k, v in attrs)):
            self.found.append(f"<{tag}>")
        for key, value in attrs:
            if key.startswith("on") or key == "style" and tag not in ("td", "th"):
                self.found.append(f"{key}=")
            elif key in URL_ATTRIBUTES and tag != "img":
                scheme = re.match(r"\s*([A-Za-z][A-Za-z0-9+.-]*):", re.sub(r"[\x00-\x20]", "", value or ""))
                if scheme and scheme.group(1).lower() not in URL_SCHEMES:
                    self.found.append(f"{scheme.group(1).lower()}: URL")


def active_parts(html):
    """What in ``html`` runs or fetches, as short phrases (empty for inert HTML)."""
    parser = _Active()
    parser.feed(html)
    parser.close()
    return list(dict.fromkeys(parser.found))


class _Shape(HTMLParser):
    """The tags, attributes and text of an HTML fragment, in order (comments and end tags left out)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.events = []

    def handle_starttag(self, tag, attrs):
        self.events.append(("tag", tag, tuple(sorted((k, v or "") for k, v in attrs if k != "rel"))))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self.events and self.events[-1][0] == "text":
            self.events[-1] = ("text", self.events[-1][1] + data)
        else:
            self.events.append(("text", data))


def _shape(html):
    parser = _Shape()
    parser.feed(html)
    parser.close()
    return [event for event in parser.events if event != ("text", "")]


def html_is_clean(html):
    """Whether cleaning ``html`` would change what it does (more than ``rel`` on links): the same tags, attributes
    and text before and after."""
    return _shape(html) == _shape(clean_html(html))


def render_markdown(source, attachments=None):
    """``source`` rendered as nbconvert's HTML exporter renders a markdown cell (mistune, math kept apart)."""
    renderer = IPythonRenderer(escape=False, attachments=attachments or {}, embed_images=False, path="",
                               anchor_link_text="¶", exclude_anchor_links=False)
    return MarkdownWithMath(renderer=renderer).render(source)


def defuse_math(text):
    """Break up MathJax's link and code commands (``\\href`` becomes ``\\ href``: a space and the word)."""
    return MATHJAX_ACTIVE.sub(r"\\ ", text)


def _as_text(source, what):
    """Markdown that shows ``source`` as literal text in a code block (a fence longer than any in the source)."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", source)), default=0))
    return (f"**{MARK} {NOTE}:** this {what} held active content (a script, an event handler, a `javascript:` or "
            f"`data:` link, a frame or an image from elsewhere). It is shown as text:\n\n"
            f"{fence}text\n{source}\n{fence}\n")


def sanitize_markdown(source, attachments=None, what="cell"):
    """``(markdown, changed)``: ``source`` itself when its rendering is clean, else its text in a code block."""
    source = defuse_math(source)
    try:
        rendered = render_markdown(source, attachments)
    except Exception:  # noqa: BLE001 (mistune failing on crafted input: show it as text)
        rendered = None
    if rendered is not None and html_is_clean(rendered):
        return source, False
    return _as_text(source, what), True


def _base64(value):
    text = value if isinstance(value, str) else "".join(value)
    if not BASE64.fullmatch(text):
        return None
    try:
        base64.b64decode(re.sub(r"\s+", "", text), validate=True)
    except (binascii.Error, ValueError):
        return None
    return text


def _text(value):
    return value if isinstance(value, str) else "".join(value) if isinstance(value, list) else str(value)


def _image_metadata(metadata, mime):
    """Only what nbconvert's templates use, each value of the type they expect."""
    kept = {}
    for scope in (metadata, metadata.get(mime) if isinstance(metadata.get(mime), dict) else {}):
        for key in ("width", "height"):
            value = scope.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 100000 \
                    and float(value).is_integer():
                kept[key] = int(value)
        if isinstance(scope.get("unconfined"), bool):
            kept["unconfined"] = scope["unconfined"]
        if scope.get("needs_background") in ("light", "dark"):
            kept["needs_background"] = scope["needs_background"]
    return kept


def sanitize_output(output):
    """``(output, notes)``: the output with only inert content; notes say what was removed."""
    kind = output.get("output_type")
    notes = []
    if kind == "stream":
        return new_output("stream", name="stderr" if output.get("name") == "stderr" else "stdout",
                          text=_text(output.get("text", ""))), notes
    if kind == "error":
        return new_output("error", ename=_text(output.get("ename", "")), evalue=_text(output.get("evalue", "")),
                          traceback=[_text(line) for line in output.get("traceback", [])]), notes
    if kind not in ("display_data", "execute_result"):
        return None, [f"an output of kind {str(kind)[:40]!r}"]
    data, metadata = {}, {}
    source_meta = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
    for mime, value in (output.get("data") or {}).items():
        if mime == "text/plain":
            data[mime] = _text(value)
        elif mime == "text/html":
            html = defuse_math(_text(value))
            cleaned = clean_html(html)
            data[mime] = cleaned
            active = active_parts(html)
            if active:
                notes.append("active HTML (" + ", ".join(active[:4]) + ")")
        elif mime == "text/markdown":
            text, changed = sanitize_markdown(_text(value), what="output")
            if changed:  # shown as plain text instead
                notes.append("active Markdown")
                data.setdefault("text/plain", _text(value))
            else:
                data[mime] = text
        elif mime == "text/latex":
            data[mime] = defuse_math(_text(value))
        elif mime in IMAGE_TYPES:
            image = _base64(value)
            if image is None:
                notes.append(f"{mime} that is not base64")
                continue
            data[mime] = image
            kept = _image_metadata(source_meta, mime)
            if kept:
                metadata[mime] = kept
        else:
            notes.append(mime[:60] if isinstance(mime, str) else "an unknown kind of output")
    if not data:
        data["text/plain"] = ""
    if kind == "execute_result":
        count = output.get("execution_count")
        count = count if isinstance(count, int) and not isinstance(count, bool) else None
        return new_output("execute_result", data=data, metadata=metadata, execution_count=count), notes
    return new_output("display_data", data=data, metadata=metadata), notes


def _sanitize_attachments(attachments):
    kept, dropped = {}, []
    for name, bundle in (attachments or {}).items():
        if not (isinstance(name, str) and re.fullmatch(r"[\w .-]{1,100}", name) and isinstance(bundle, dict)):
            dropped.append("an attachment")
            continue
        images = {mime: _base64(value) for mime, value in bundle.items() if mime in IMAGE_TYPES}
        images = {mime: value for mime, value in images.items() if value is not None}
        if images:
            kept[name] = images
        if set(bundle) - set(images):
            dropped.append(f"attachment {name!r} ({', '.join(sorted(set(bundle) - set(images)))[:80]})")
    return kept, dropped


def _sanitize_cell_metadata(cell):
    metadata = cell.get("metadata", {})
    tags = metadata.get("tags")
    if tags is not None:
        metadata["tags"] = [tag for tag in tags if isinstance(tag, str) and TAG.fullmatch(tag)] \
            if isinstance(tags, list) else []
    nbgrader = metadata.get("nbgrader")
    if isinstance(nbgrader, dict) and "grade_id" in nbgrader and not (
            isinstance(nbgrader["grade_id"], str) and TAG.fullmatch(nbgrader["grade_id"])):
        del metadata["nbgrader"]  # a graded cell's metadata is the gradebook's; a made-up one is not kept
    if not (isinstance(cell.get("id"), str) and CELL_ID.fullmatch(cell["id"])):
        cell["id"] = "cell-" + hashlib.sha256(repr(cell.get("source", "")).encode()).hexdigest()[:16]


def sanitize_cell(cell):
    """Make one cell inert, in place; returns the list of what was removed."""
    removed = []
    _sanitize_cell_metadata(cell)
    if cell.cell_type == "markdown":
        attachments, dropped = _sanitize_attachments(cell.get("attachments"))
        removed += dropped
        if "attachments" in cell:
            cell["attachments"] = attachments
        cell.source, changed = sanitize_markdown(_text(cell.source), attachments)
        if changed:
            removed.append("active Markdown")
    elif cell.cell_type == "raw":
        for key in ("format", "raw_mimetype"):  # a raw cell marked as HTML goes into the page as it is
            cell.metadata.pop(key, None)
    elif cell.cell_type == "code":
        if not (cell.get("execution_count") is None or type(cell.get("execution_count")) is int):
            cell["execution_count"] = None
        outputs, notes = [], []
        for output in cell.get("outputs", []):
            clean, output_notes = sanitize_output(output)
            notes += output_notes
            if clean is not None:
                outputs.append(clean)
        if notes:
            outputs.append(new_output("stream", name="stdout", text=(
                f"\n{MARK} {NOTE}: {', '.join(dict.fromkeys(notes))} in this cell's output\n")))
        cell.outputs = outputs
        removed += notes
    return removed


def sanitize_notebook(nb):
    """Make a whole notebook inert, in place; returns ``{cell index: [what was removed]}``."""
    kept = {}
    kernelspec = nb.metadata.get("kernelspec")
    if isinstance(kernelspec, dict):
        kept["kernelspec"] = {k: v for k, v in kernelspec.items() if k in ("name", "display_name", "language")
                              and isinstance(v, str) and SIMPLE.fullmatch(v)}
    language = nb.metadata.get("language_info")
    if isinstance(language, dict):
        kept["language_info"] = {k: v for k, v in language.items() if isinstance(v, str) and SIMPLE.fullmatch(v)}
        codemirror = language.get("codemirror_mode")
        if isinstance(codemirror, dict):
            kept["language_info"]["codemirror_mode"] = {k: v for k, v in codemirror.items()
                                                        if isinstance(v, (str, int)) and SIMPLE.fullmatch(str(v))}
    for key in ("nbgrader",):
        if key in nb.metadata:
            kept[key] = copy.deepcopy(nb.metadata[key])
    nb.metadata = type(nb.metadata)(kept)
    report = {}
    for index, cell in enumerate(nb.cells):
        removed = sanitize_cell(cell)
        if removed:
            report[index] = removed
    return report


class SanitizeNotebook(NbGraderPreprocessor):
    """nbgrader preprocessor: the whole notebook made inert (markdown cells, outputs, output metadata, attachments,
    ``javascript:``/``data:`` URLs, MathJax's link commands), so that neither Formgrader nor a feedback page runs or
    fetches anything a student put there. Put it in ``Autograde.autograde_preprocessors`` (the autograded notebook is
    what Formgrader shows) and in ``GenerateFeedback.preprocessors`` (the feedback page, from notebooks graded
    before this preprocessor existed too)."""

    enabled = Bool(True, help="Sanitize the notebook (always on: turn it off only to debug)").tag(config=True)

    def preprocess(self, nb, resources):
        report = sanitize_notebook(nb)
        if report:
            self.log.warning("Removed active content from %d cell(s) of %s: %s", len(report),
                             resources.get("nbgrader", {}).get("student", "the notebook"),
                             "; ".join(f"cell {i}: {', '.join(what)}" for i, what in sorted(report.items()))[:2000])
        return nb, resources
