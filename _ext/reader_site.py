"""Sphinx extension: the built pages made fit for every reader (keyboard, screen reader, dark mode, slow links).

Everything here works on the built HTML, after the build (``build-finished``), so that no notebook has to change
and the same rewrite applies to every page. Each step is idempotent (a page left unchanged by an incremental build
and rewritten again comes out the same), and each is small:

- **Concept checks** (jupyterquiz): every quiz cell inlines jupyterquiz's whole library (37 KiB) and its stylesheet.
  The questions stay in the page as JSON (``<script type="application/json" class="jq-questions">``); the library is
  written once to ``_static/jupyterquiz-lib.js`` from the installed jupyterquiz package (its own files, in the
  order jupyterquiz concatenates them) and fetched by ``_static/concept-checks.js`` (from ``_ext/assets/``) as soon
  as the reader scrolls, types or points, or a check nears the screen; it then draws the
  quizzes and makes them accessible (radio group named by the question, feedback in a live region, arrow keys move
  without answering). Its look is ``_static/concept-checks.css``.
- **Chapter 4's players** (matplotlib's ``to_jshtml``): the frames, base64 PNGs inside the page, become image files
  in ``_images/`` (named by their content), fetched only when shown; the picture is lazily loaded; the slider gets a
  label, the repetition form stops being a landmark, and matplotlib's player class is written once per page.
  ``_static/players.js`` keeps the slider's value text and the picture's alt text in step with the frame.
- **Scripts**: FontAwesome's SVG+JS build (1.45 MB; the webfont CSS already draws every icon) and the preloads of its
  three fonts are dropped; every script in ``<head>`` is deferred; MathJax is loaded only where a page has math.
- **Images** load lazily; every page gets a meta description (its first paragraph); the primary sidebar is a
  landmark; an exercise's hints are named by their part ("Hint 1 for part 2").

The course's stylesheet ``_static/reader.css`` (focus rings, narrow screens, colours) and ``_static/reader.js``
(Escape and focus in the contents drawer, focus after a search) are added to every page by ``_config.yml``.
"""

import base64
import hashlib
import html
import importlib.resources
import json
import re
from pathlib import Path

# Concept checks -------------------------------------------------------------------------------------------------

QUIZ_SCRIPT = re.compile(
    r'<script type="application/javascript">var questions(?P<id>[A-Za-z]+)=(?P<json>.*?);\n\n'
    r"if \(typeof Question === 'undefined'\) \{\n.*?</script>",
    re.S,
)
QUIZ_STYLE = re.compile(r'(<div id="(?P<id>[A-Za-z]+)" data-shufflequestions="[^"]*"[^>]*>)<style>\n#(?P=id) \{.*?</style>', re.S)  # noqa: E501
LIB_NAME = "jupyterquiz-lib.js"
ASSETS = Path(__file__).parent / "assets"  # concept-checks.js/.css and players.js, copied into _static

# The MathJax jupyterquiz sees: its code reads MathJax.version as it draws and on every answer, and a MathJax that is
# still loading (deferred) has no version yet. The concept checks have no math (the course's convention), so the
# library gets a stand-in that typesets through the page's MathJax once that is ready, and does nothing before.
LIB_PREFIX = """/* jupyterquiz's library (https://github.com/jmshea/jupyterquiz), copied from the installed package by
   _ext/reader_site.py, so that a page loads it once instead of once per concept check. */
(function () {
var MathJax = {version: "3", typeset: function (elements) {
  var m = window.MathJax;
  if (m && m.typesetPromise) { m.typesetPromise(elements).catch(function () {}); }
}, Hub: null};
"""
LIB_SUFFIX = "\nwindow.jupyterquiz = {show_questions: show_questions};\n})();\n"


def jupyterquiz_library():
    """jupyterquiz's JavaScript, as its display_quiz puts it together (every .js file in name order)."""
    js = importlib.resources.files("jupyterquiz").joinpath("js")
    parts = [f.read_text(encoding="utf-8") for f in sorted(js.iterdir(), key=lambda f: f.name) if f.name.endswith(".js")]  # noqa: E501
    return LIB_PREFIX + "\n".join(parts) + LIB_SUFFIX


def rewrite_quizzes(text):
    """Each quiz's inline library and style replaced by its questions as JSON; returns (text, number of quizzes)."""
    count = 0

    def questions(match):
        nonlocal count
        count += 1
        data = json.dumps(json.loads(match["json"]), ensure_ascii=False).replace("<", "\\u003c")
        return f'<script type="application/json" class="jq-questions" data-for="{match["id"]}">{data}</script>'

    text = QUIZ_SCRIPT.sub(questions, text)
    text = QUIZ_STYLE.sub(lambda m: m.group(1).replace('<div id=', '<div class="jq-quiz" data-jq-pending="" id=', 1), text)  # noqa: E501
    return text, count


# Players --------------------------------------------------------------------------------------------------------

FRAME = re.compile(r'frames\[(\d+)\] = "data:image/png;base64,([A-Za-z0-9+/=\\\n]*)"')
ANIMATION_CLASS = re.compile(r'<script language="javascript">\s*function isInternetExplorer\(\).*?</script>', re.S)
PRELOAD = re.compile(r"this\.frames\[i\] = new Image\(\);\s*this\.frames\[i\]\.src = frames\[i\];")
PLAYER_IMG = re.compile(r'<img alt="(?P<alt>[^"]*)"(?P<extra>[^>]*?) id="_anim_img(?P<id>\w+)">')
SLIDER = re.compile(r'(<input id="_anim_slider(?P<id>\w+)" type="range" class="anim-slider")')
LOOP_FORM = re.compile(r'<form title="Repetition mode" aria-label="Repetition mode" action="#n" name="_anim_loop_select'
                       r'(?P<id>\w+)"\s*class="anim-state">(?P<radios>.*?)</form>', re.S)


def rewrite_players(text, images_dir, prefix):
    """Frames out of the page into ``images_dir`` (URL ``prefix``); returns (text, number of players)."""
    def frame(match):
        data = base64.b64decode(match[2].replace("\\\n", "").replace("\n", ""))
        name = f"frame-{hashlib.sha256(data).hexdigest()[:20]}.png"
        target = images_dir / name
        if not target.exists():
            images_dir.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return f'frames[{match[1]}] = "{prefix}{name}"'

    text = FRAME.sub(frame, text)
    text = PRELOAD.sub("this.frames[i] = {src: frames[i]};  /* fetched when shown (reader_site.py) */", text)
    seen = []

    def once(match):  # matplotlib's player class, written out again by each player
        seen.append(1)
        return match.group(0) if len(seen) == 1 else ""

    text = ANIMATION_CLASS.sub(once, text)
    alts = {m["id"]: html.unescape(m["alt"]) for m in PLAYER_IMG.finditer(text)}
    text = PLAYER_IMG.sub(lambda m: f'<img alt="{m["alt"]}"{m["extra"]} id="_anim_img{m["id"]}" loading="lazy" decoding="async" '  # noqa: E501
                                    f'class="anim-frame">', text)
    text = SLIDER.sub(lambda m: m.group(1) + f' aria-label="{html.escape("Frame of the player: " + alts.get(m["id"], "animation"))}"', text)  # noqa: E501
    # The repetition radios: a form with a name is a landmark, and both players' had the same name. Unnamed, with
    # its radios in a fieldset whose legend says which player they belong to.
    def loop_form(m):
        legend = html.escape("Repetition: " + alts.get(m["id"], "animation"))
        return (f'<form action="#n" name="_anim_loop_select{m["id"]}" class="anim-state"><fieldset>'
                f'<legend class="visually-hidden">{legend}</legend>{m["radios"]}</fieldset></form>')

    text = LOOP_FORM.sub(loop_form, text)
    return text, len(alts)


# Scripts, MathJax, images, description -------------------------------------------------------------------------

FA_JS = re.compile(r'\s*<script src="[^"]*fontawesome/[\d.]+/js/all\.min\.js[^"]*"></script>')
FA_CSS = re.compile(r'(href="[^"]*fontawesome/[\d.]+/css/)all\.min\.css[^"]*')
FA_PRELOAD = re.compile(r'\s*<link rel="preload" as="font" type="font/woff2" crossorigin href="[^"]*fontawesome[^"]*" />')  # noqa: E501
HEAD_SCRIPT = re.compile(r'<script (?![^>]*\b(?:defer|async)\b)(?P<attrs>[^>]*\bsrc="[^"]*"[^>]*)></script>')
PAGENAME = re.compile(r"<script>(DOCUMENTATION_OPTIONS\.pagename = '[^']*';)</script>")
MATHJAX = re.compile(r'\s*<script>window\.MathJax = .*?</script>\s*<script defer="defer" src="[^"]*mathjax/[^"]*"></script>', re.S)  # noqa: E501
SPHINX_DESIGN = re.compile(r'\s*<link rel="stylesheet" type="text/css" href="[^"]*sphinx-design\.min\.css[^"]*" />'
                           r'|\s*<script defer data-sd-tabs-storage-prefix="[^"]*" src="[^"]*design-tabs\.js[^"]*"></script>')  # noqa: E501
THEBE = re.compile(r'\s*<link rel="stylesheet" type="text/css" href="[^"]*sphinx-thebe\.css[^"]*" />'
                   r'|\s*<script>const THEBE_JS_URL = [^<]*</script>'
                   r'|\s*<script async="async" src="[^"]*sphinx-thebe\.js[^"]*"></script>')
TOGGLE = re.compile(r'\s*<link rel="stylesheet" type="text/css" href="[^"]*togglebutton\.css[^"]*" />'
                    r'|\s*<script>let toggle\w+ = [^<]*</script>'
                    r'|\s*<script (?:defer )?src="[^"]*togglebutton\.js[^"]*"></script>'
                    r'|\s*<script>var togglebuttonSelector = [^<]*</script>')
DATAFRAME = re.compile(r'<table border="1" class="dataframe">.*?</table>', re.S)
IMG = re.compile(r'<img (?![^>]*\bloading=)')
FIRST_PARAGRAPH = re.compile(r'<main[^>]*>.*?<p>(?P<p>.*?)</p>', re.S)


def rewrite_head(text):
    head, sep, body = text.partition("</head>")
    if not sep:
        return text
    head = FA_JS.sub("", head)
    head = FA_PRELOAD.sub("", head)
    head = FA_CSS.sub(r"\1course-icons.css", head)
    # A page whose body still loads scripts the usual way (Sphinx's search page) keeps its order as it is.
    if not HEAD_SCRIPT.search(body.split("<!-- Scripts loaded after <body>")[0]):
        head = HEAD_SCRIPT.sub(lambda m: f'<script defer {m["attrs"]}></script>', head)
        # set once documentation_options.js has run (it is deferred now): a deferred script of its own, in order
        head = PAGENAME.sub(lambda m: '<script defer src="data:text/javascript,'
                            + m[1].replace("'", "%27").replace(" ", "%20") + '"></script>', head)
    if 'class="math' not in body:
        head = MATHJAX.sub("", head)
    if 'class="sd-' not in body:  # sphinx-design's tabs, cards and grids: no page uses them
        head = SPHINX_DESIGN.sub("", head)
    if "thebe" not in body.replace("text/x-thebe-config", ""):  # launch_buttons.thebe is off: nothing to run
        head = THEBE.sub("", head)
    classes = [set(c.split()) for c in re.findall(r'class="([^"]*)"', body)]
    if not any("toggle" in c or {"admonition", "dropdown"} <= c for c in classes):  # sphinx-togglebutton's targets
        head = TOGGLE.sub("", head)
    if '<meta name="description"' not in head:
        para = FIRST_PARAGRAPH.search(body)
        if para:
            words = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", para["p"]))).strip()
            if len(words) > 160:
                words = words[:157].rsplit(" ", 1)[0] + "..."
            if words:
                head = head.replace("<title>", f'<meta name="description" content="{html.escape(words)}" />\n    <title>', 1)  # noqa: E501
    return head + sep + body


SIDEBAR = '<div class="bd-sidebar-primary bd-sidebar">'


def rewrite_landmarks(text):
    """The primary sidebar's course title and search button sit outside every landmark: the sidebar is one."""
    return text.replace(SIDEBAR, '<div class="bd-sidebar-primary bd-sidebar" role="region" aria-label="Course">', 1)


# FontAwesome: the theme's icons come from its webfont; the solid face is 156 KiB for the handful of icons the
# site shows. A copy of the face with just those glyphs (fontTools, which matplotlib brings) replaces it.
FA_DIR = Path("_static/vendor/fontawesome")
FA_RULE = re.compile(r'([^{}]+)\{content:"\\([0-9a-f]{4})"\}')
FA_NAME = re.compile(r'\bfa-[a-z0-9-]+')
CSS_CODEPOINT = re.compile(r'"\\([ef][0-9a-f]{3})"')


def subset_fontawesome(outdir, used_text):
    """Write ``css/course-icons.css`` beside FontAwesome's all.min.css (left as it is): its rules without the glyph
    rules of icons the site never shows, and its solid and regular faces cut down to the glyphs the site shows."""
    for css in (outdir / FA_DIR).glob("*/css/all.min.css"):
        text = css.read_text(encoding="utf-8")
        names = {}
        for selectors, code in FA_RULE.findall(text):
            for selector in selectors.split(","):
                names[selector.strip().removeprefix(".").removesuffix(":before")] = int(code, 16)
        used = {n for n in FA_NAME.findall(used_text) if n[1:] in names or n in names}
        used = {n.removeprefix(".") for n in used}
        codes = {names[n] for n in used} | {int(c, 16) for c in CSS_CODEPOINT.findall(used_text)}

        def keep(match):
            shown = any(sel.strip().removeprefix(".").removesuffix(":before") in used for sel in match[1].split(","))  # noqa: B023
            return match.group(0) if shown else ""

        text = FA_RULE.sub(keep, text)
        webfonts = css.parent.parent / "webfonts"
        try:
            import logging

            from fontTools import subset
            logging.getLogger("fontTools").setLevel(logging.WARNING)  # its INFO lines would fill the build's log
        except ImportError:  # the full faces stay: heavier, not broken
            subset = None
        for face in ("fa-solid-900", "fa-regular-400"):
            source, target = webfonts / f"{face}.ttf", webfonts / f"{face}.course.woff"
            if subset is None or not source.is_file():
                continue
            options = subset.Options()
            options.flavor = "woff"  # woff2 needs brotli, which is not installed; zlib is
            options.layout_features = []
            font = subset.load_font(str(source), options)
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=sorted(codes))
            subsetter.subset(font)
            subset.save_font(font, str(target), options)
            text = text.replace(f'url(../webfonts/{face}.woff2) format("woff2"),url(../webfonts/{face}.ttf) '
                                'format("truetype")', f'url(../webfonts/{face}.course.woff) format("woff")')
        (css.parent / "course-icons.css").write_text(
            "/* FontAwesome's all.min.css with only the icons this site shows (_ext/reader_site.py) */\n" + text,
            encoding="utf-8")


LONG_ALT = re.compile(r'<img (?P<before>[^>]*?)alt="(?P<alt>[^"]{501,})"(?P<after>[^>]*)>')
SENTENCE = re.compile(r"^(.{20,250}?[.:;])\s")


def fold_long_alts(text):
    """An alt text of more than 500 characters is read in one breath, with no way to skim or stop: the picture gets
    its first sentence as alt text, and the whole description follows in a folded block."""
    def fold(match):
        alt = html.unescape(match["alt"])
        first = SENTENCE.match(alt)
        short = first.group(1).rstrip(":;") if first else alt[:200].rsplit(" ", 1)[0] + "..."
        short += "" if short.endswith((".", "...")) else "."
        return (f'<img {match["before"]}alt="{html.escape(short)} Full description below."{match["after"]}>'
                f'<details class="figure-description"><summary>Describe the figure</summary><p>{html.escape(alt)}</p>'
                "</details>")

    return LONG_ALT.sub(fold, text)


HINT_OR_PART = re.compile(r'<h2>(?P<part>\d+)\.|<summary>(?P<hint>Hint \d+)</summary>')


def name_hints(text):
    """An exercise's hints are all "Hint 1", "Hint 2"...: each gets its part's number, so that a screen reader's list
    of disclosures tells them apart ("Hint 1 for part 2")."""
    part = None

    def rename(match):
        nonlocal part
        if match["part"]:
            part = match["part"]
            return match.group(0)
        return f'<summary>{match["hint"]} for part {part}</summary>' if part else match.group(0)

    return HINT_OR_PART.sub(rename, text)


def add_script(text, src, attributes=""):
    tag = f'<script defer src="{src}"{attributes}></script>'
    if tag in text:
        return text
    return text.replace("</head>", f"  {tag}\n  </head>", 1)


def add_stylesheet(text, href):
    tag = f'<link rel="stylesheet" type="text/css" href="{href}" />'
    if tag in text:
        return text
    return text.replace("</head>", f"  {tag}\n  </head>", 1)


def rewrite_page(path, outdir):
    text = path.read_text(encoding="utf-8")
    original = text
    static = Path("../" * (len(path.relative_to(outdir).parts) - 1)) / "_static"
    prefix = "../" * (len(path.relative_to(outdir).parts) - 1)
    text = rewrite_head(text)
    text, quizzes = rewrite_quizzes(text)
    if quizzes or 'class="jq-questions"' in text:
        text = add_stylesheet(text, f"{static.as_posix()}/jupyterquiz.css")
        text = add_stylesheet(text, f"{static.as_posix()}/concept-checks.css")
        for earlier in (LIB_NAME, "concept-checks.js"):  # tags of earlier versions of this rewrite
            text = text.replace(f'  <script defer src="{static.as_posix()}/{earlier}"></script>\n', "")
        # jupyterquiz's library is fetched by concept-checks.js when the reader first scrolls, types or points, or
        # when a check comes within 1250 px of the screen (as Chromium fetches lazy images)
        text = add_script(text, f"{static.as_posix()}/concept-checks.js",
                          f' data-library="{static.as_posix()}/{LIB_NAME}"')
    if 'class="animation"' in text:
        text, _ = rewrite_players(text, outdir / "_images", f"{prefix}_images/")
        text = add_script(text, f"{static.as_posix()}/players.js")
    text = IMG.sub('<img loading="lazy" decoding="async" ', text)
    text = rewrite_landmarks(text)
    # pandas leaves the corner of a table's header (above the index) an empty header cell: an empty data cell
    text = DATAFRAME.sub(lambda m: m.group(0).replace("<th></th>", "<td></td>"), text)
    text = name_hints(text)
    text = fold_long_alts(text)
    if text != original:
        path.write_text(text, encoding="utf-8")


def optimise_images(images_dir, max_error=2.0):
    """The notebook figures (and the players' frames) are matplotlib PNGs with a few hundred colours, most of them
    the anti-aliasing of lines: each is stored with a 256-colour palette (median cut, no dithering, as pngquant
    does) when that changes its pixels by at most ``max_error`` (root mean square, 0-255 scale), else as it was. It
    cuts the figures to about a third. A file done once carries a PNG text chunk and is skipped."""
    try:
        import numpy as np
        from PIL import Image, PngImagePlugin
    except ImportError:
        return
    for path in images_dir.glob("*.png"):
        with Image.open(path) as image:
            if image.text.get("reader-site") or image.mode not in ("RGB", "RGBA", "P"):
                continue
            rgba = image.convert("RGBA")
        quantised = rgba.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        error = np.sqrt(np.mean((np.asarray(quantised.convert("RGBA"), dtype=float)
                                 - np.asarray(rgba, dtype=float)) ** 2))
        info = PngImagePlugin.PngInfo()
        info.add_text("reader-site", f"palette, rms {error:.2f}" if error <= max_error else "kept")
        kept = rgba if error > max_error else quantised
        tmp = path.with_suffix(".tmp")
        kept.save(tmp, "PNG", optimize=True, pnginfo=info)
        if error <= max_error and tmp.stat().st_size < path.stat().st_size:
            tmp.replace(path)
        else:
            with Image.open(path) as image:  # mark it as looked at, pixels untouched
                image.load()
                image.save(tmp, "PNG", pnginfo=info)
            tmp.replace(path)


def rewrite_site(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    (outdir / "_static" / LIB_NAME).write_text(jupyterquiz_library(), encoding="utf-8")
    for asset in ASSETS.iterdir():  # page-specific (jupyter-book would add every file of _static to every page)
        (outdir / "_static" / asset.name).write_bytes(asset.read_bytes())
    styles = importlib.resources.files("jupyterquiz").joinpath("styles.css").read_text(encoding="utf-8")
    (outdir / "_static" / "jupyterquiz.css").write_text("/* jupyterquiz's stylesheet, from the installed package */\n"
                                                        + styles, encoding="utf-8")
    pages = [p for p in sorted(outdir.rglob("*.html"))
             if p.relative_to(outdir).parts[0] not in ("_static", "_sources", "_images")]
    for path in pages:
        rewrite_page(path, outdir)
    used = [p.read_text(encoding="utf-8") for p in pages]
    used += [p.read_text(encoding="utf-8") for p in (outdir / "_static").rglob("*.js")
             if "mathjax" not in p.parts and "vendor" not in p.parts]
    used += [p.read_text(encoding="utf-8") for p in (outdir / "_static").rglob("*.css")
             if "mathjax" not in p.parts and "vendor" not in p.parts]
    subset_fontawesome(outdir, "\n".join(used))
    optimise_images(outdir / "_images")


def use_mathjax_components(app):
    """MathJax's startup module and the components the course needs, instead of the combined tex-chtml.js (which
    carries the 420 KiB contextual menu): the loader list is in _config.yml (mathjax3_config)."""
    app.config.mathjax_path = "mathjax/startup.js"


def no_fullscreen_button(app, config):
    """sphinx-book-theme's full-screen button (the browser's own F11 does the same) is one Tab stop less on the way
    to every page's content; jupyter-book has no _config.yml key for it."""
    config.html_theme_options = {**(config.html_theme_options or {}), "use_fullscreen_button": False}


def setup(app):
    app.connect("config-inited", no_fullscreen_button)
    app.connect("builder-inited", use_mathjax_components)
    app.connect("build-finished", rewrite_site, priority=900)  # after sphinx-mathjax-offline's copy (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
