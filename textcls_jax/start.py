"""How a run starts, decided in one place.

`check` runs before anything is written: the config's values, a re-run's config against the one
saved in the workdir (a change the saved state cannot take is refused), and `init_from`, read once
and checked against this run. `initial_state` then picks the state the run starts from, in
big_vision's and t5x's order: the workdir's own latest intact checkpoint (a corrupt one is set aside
only once an older one restores; a mismatched one is refused, never moved; checkpoint.py), else the
init_from parameters in a fresh state, else the fresh state.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Union

import jax
from absl import logging

from textcls_jax import checkpoint as ckpt_lib
from textcls_jax import config_base
from textcls_jax import config_checks
from textcls_jax import models
from textcls_jax import tasks
from textcls_jax import train_state
from textcls_jax import transfer
from textcls_jax import workdir as wd


@dataclasses.dataclass(frozen=True)
class Checked:
  """What `check` found: the resumable keys a re-run changed, and init_from as read (a workdir or
  a published checkpoint; None without init_from, or on a resume that did not need it)."""
  changed_keys: list
  pretrained: Optional[Union[transfer.Pretrained, transfer.Published]]

  def tokenizer_path(self, config) -> str:
    """The tokenizer a new workdir copies: init_from's tokenizer folder (a published checkpoint's
    folder, for its vocab.txt), else tokenizer.model_path
    (a SentencePiece model; '' for none: data/prepare.py then makes one as config.tokenizer says)."""
    return self.pretrained.tokenizer_path if self.pretrained else config.tokenizer.model_path


def check(config, workdir: str) -> Checked:
  """Refuses a bad config value, a re-run's change the workdir's state cannot take, or an init_from
  that does not fit (ConfigError, TransferError). Reads only."""
  config_checks.validate(config)
  changed = check_workdir_config(config, workdir)
  pretrained = None
  if config.init_from:
    try:
      pretrained = transfer.open_source(config.init_from, config)
    except transfer.TransferError as e:
      # A workdir with a checkpoint resumes from it and needs init_from no more (a published
      # checkpoint's folder may be gone: the tokenizer is in the workdir). initial_state refuses
      # the run if no checkpoint of the workdir restores after all.
      if not has_checkpoint(workdir):
        raise
      logging.warning('init_from is not read (%s): resuming from the checkpoint in %s', e,
                      workdir)
  return Checked(changed, pretrained)


def has_checkpoint(workdir: str) -> bool:
  """Whether `workdir` holds a checkpoint (intact or not). Reads only."""
  folder = wd.join(workdir, wd.CHECKPOINTS)
  if not wd.exists(folder):
    return False
  checkpoints = ckpt_lib.Checkpointer(folder, read_only=True)
  try:
    return checkpoints.latest_step() is not None
  finally:
    checkpoints.close()


def check_workdir_config(config, workdir: str) -> list[str]:
  """Refuses (ConfigError) a config that changes what `workdir`'s saved state means.

  Reads only: nothing in the workdir is written or moved. Returns the resumable keys that changed
  ('key: old -> new'); [] for a new workdir.
  """
  saved = wd.read_config(workdir)
  if saved is None:
    return []
  # A key the saved config lacks was added after the workdir was made: the run that made it
  # behaved as the key's default says (the base config's, or the encoder family's).
  defaults = config_checks.flatten(config_base.base_config().to_dict())
  family = saved.get('model', {}).get('name')
  defaults.update({f'model.{k}': v for k, v in models.encoder_defaults(family).items()})
  return config_checks.check_resume(saved, config, workdir, defaults)


def initial_state(config, checkpoints, dp, fresh_state, base_rng, pretrained):
  """The state a run starts from, decided in one place, in big_vision's and t5x's order: the
  workdir's own latest intact checkpoint, else init_from's parameters (transfer.transferred_params)
  in the fresh state, else the fresh state itself.

  Returns (state, base_rng, start step, the restored checkpoint's step or None, the train metric
  sums of an unfinished log window or None).
  """
  restored = checkpoints.restore_latest(
      dp.replicate_plain(train_state.checkpoint_item(fresh_state, base_rng)),
      on_corrupt=config.checkpoint.on_corrupt)
  if restored is not None:
    latest, item, meta = restored
    state, base_rng = train_state.from_checkpoint_item(fresh_state, item)
    start_step = int(jax.device_get(state.step))
    position = ckpt_lib.check_data_position(meta, start_step, config.train.batch_size,
                                            f'checkpoint {latest}')
    logging.info('Resuming from step %d (data position %d)', start_step, position)
    # A stop between two log steps saved the sums of the unfinished log window: the next train
    # row then covers the same steps as it would have without the stop.
    return (state, base_rng, start_step, latest,
            tasks.sums_from_json(ckpt_lib.meta_train_sums(meta)))
  if config.init_from and not pretrained:
    raise transfer.TransferError(
        f'init_from={config.init_from} could not be read, and no checkpoint of this workdir '
        'restores: nothing to start from')
  if pretrained:
    params = transfer.transferred_params(pretrained, config, fresh_state.params)
    return fresh_state.with_params(params), base_rng, 0, None, None
  return fresh_state, base_rng, 0, None, None
