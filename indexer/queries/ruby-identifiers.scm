; Ruby: every name used or defined (methods and locals, then constants).
(identifier) @identifier
(constant) @identifier
