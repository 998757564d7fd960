"""The course order of `nbs/sidebar.yml`, read by the docs build (`tools/docs_octavo.py`) and by its browser test
(`tests/test_docs_site.py`); no dependencies, so both environments can import it."""


def sidebar_items(contents):
    "Quarto sidebar `contents` (paths, `{href,text}` items, `{section,contents}` groups) as a flat list of notebook paths"
    res = []
    for o in contents or []:
        if isinstance(o, str): res.append(o)
        elif isinstance(o, dict):
            if o.get('href'): res.append(o['href'])
            res += sidebar_items(o.get('contents'))
    return res
