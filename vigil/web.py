"""Plain HTTP endpoints beside the Dash pages: the streaming upload."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from detection.errors import VigilError
from vigil.services import dataset_store, settings

log = logging.getLogger(__name__)
api = Blueprint("vigil_api", __name__, url_prefix="/api/v1")


@api.post("/datasets")
def upload_dataset():
    """Store an uploaded file (multipart field `file`); answer with its id or a message."""
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _too_large()
    if upload is None or not upload.filename:
        return jsonify(error="No file was sent."), 400
    try:
        data = upload.read()
        info, reused = dataset_store().add(data, upload.filename)
    except VigilError as error:
        return jsonify(error=str(error)), 400
    except MemoryError:
        return jsonify(error="The file is too large for this server's memory."), 413
    except Exception:  # a bug, not the file's fault: say so, keep the details in the log
        log.exception("storing upload %r failed", upload.filename)
        return jsonify(
            error="The server could not store this file; the details are in its log."
        ), 500
    log.info("stored data set %s (%s, reused=%s)", info.id, info.name, reused)
    return jsonify(id=info.id, name=info.name, reused=reused), 200 if reused else 201


def _too_large():
    limit = settings().max_upload_mb
    return jsonify(error=f"The file is over the {limit:g} MB upload limit."), 413


def register(server: Flask) -> None:
    """Attach the endpoints and the request size limit to the app's Flask server."""
    server.config["MAX_CONTENT_LENGTH"] = settings().max_upload_bytes + 1_000_000
    server.register_blueprint(api)
    server.register_error_handler(RequestEntityTooLarge, lambda _error: _too_large())
