; C#: every name used or defined.
(identifier) @identifier
