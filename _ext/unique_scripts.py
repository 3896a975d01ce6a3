"""Sphinx extension: write each script tag only once per page.

sphinx-thebe adds its inline script after the HTML builder has started, and Sphinx 7.4 then lists it twice, so every
page threw "Identifier 'THEBE_JS_URL' has already been declared" in the browser console.
"""


def _unique_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # the same file or inline body with the same attributes, whatever its priority
        key = (getattr(script, "filename", script) or "", tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
