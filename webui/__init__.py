"""Kamerbron web UI: the Gradio chat, the JSON API and the embeddable intranet widget."""

__all__ = ["build_app", "create_server"]


def __getattr__(name: str):
    # Lazy, so that importing webui.feedback or webui.render does not load gradio.
    if name in __all__:
        from webui import server

        return getattr(server, name)
    raise AttributeError(name)
