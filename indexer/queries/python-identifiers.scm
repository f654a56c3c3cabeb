; Python: every name used or defined.
(identifier) @identifier
