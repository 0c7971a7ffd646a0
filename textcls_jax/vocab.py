"""Special token ids: the type every tokenizer carries them in, and SentencePiece's own layout.

A tokenizer object (`textcls_jax.data.tokenizer`) carries a `SpecialIds`; the models, masking, the
objectives and the pipeline take the ids from the tokenizer in use, passed down explicitly, never from
the constants of this module. Our SentencePiece models have

  0 <pad>   1 <unk>   2 [CLS]   3 [MASK]   (no [SEP])

and a WordPiece vocabulary of a published BERT checkpoint has [PAD] 0, [UNK] 100, [CLS] 101,
[SEP] 102, [MASK] 103. The constants below are SentencePiece's layout, read only by the code that
trains and checks SentencePiece models.
"""

from __future__ import annotations

import dataclasses
from typing import Optional


@dataclasses.dataclass(frozen=True)
class SpecialIds:
  """A tokenizer's special ids. Hashable, so that jitted functions can take it as a static argument.

  Masking never picks a special id, and draws its random replacement tokens from
  [first_regular, vocab_size): the ids above every special one.
  """
  pad: int
  unk: int
  cls: int
  mask: int
  sep: Optional[int] = None

  @property
  def ids(self) -> tuple[int, ...]:
    """Every special id, sorted."""
    return tuple(sorted(i for i in (self.pad, self.unk, self.cls, self.mask, self.sep)
                        if i is not None))

  @property
  def first_regular(self) -> int:
    return max(self.ids) + 1


PAD_ID = 0
UNK_ID = 1
CLS_ID = 2
MASK_ID = 3
NUM_SPECIAL = 4
SPECIAL_PIECES = ('<pad>', '<unk>', '[CLS]', '[MASK]')
SENTENCEPIECE = SpecialIds(pad=PAD_ID, unk=UNK_ID, cls=CLS_ID, mask=MASK_ID)
