; inherits: typescript
; TSX: the TypeScript queries apply unchanged (the grammar adds JSX).
