; PHP: every name used or defined (a $variable's name is a `name` inside it).
(name) @identifier
