"""The special token ids that every tokenizer and model of the project share.

  0 <pad>   1 <unk>   2 [CLS]   3 [MASK]

The data side (SentencePiece training, checks of a user's model) and the model side (padding masks,
MLM corruption) both read them from here.
"""

PAD_ID = 0
UNK_ID = 1
CLS_ID = 2
MASK_ID = 3
NUM_SPECIAL = 4
SPECIAL_PIECES = ('<pad>', '<unk>', '[CLS]', '[MASK]')
