"""Kamerbron web UI: the Gradio chat, the JSON API and the embeddable intranet widget.

``webui.server.create_server`` builds the app; ``webui.server.build_app`` the chat alone.
"""
