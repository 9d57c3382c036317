"""Key rotation: the keyring of field and index keys (:mod:`.store`), the sealed columns
and blind indexes of the models (:mod:`.columns`) and ``huzhu keys rotate`` (:mod:`.rotation`)."""
