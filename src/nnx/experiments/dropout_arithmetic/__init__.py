"""dropout_arithmetic: the HW2 dropout question's tables, computed, with the answer key checked cell by cell.

The question gives one layer's 4x4 output and a dropout mask (1 = kept) and asks for the layer's values at training
and at test time under standard dropout (train: x * mask, test: x * keep) and inverted dropout (train: x * mask / keep,
test: x). Both give the test output as the expected training output; we show it by sampling masks, and check the
inverted form against torch's own `F.dropout`, which is inverted dropout.
"""
