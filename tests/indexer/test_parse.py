"""The parser's contract, language by language: definitions (kind, lines, scope, signature),
imports as written, identifiers used, and no exception whatever the text.

Each language has one realistic file below with its expected definitions and imports
written out in full, so a query change that loses or adds a symbol shows up here.
Lines are 0-based and end-inclusive, as everywhere in the indexer.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import autan.indexer.parse as parse_module
from autan.indexer.languages import (
    LANGUAGES,
    get_language,
    language_for,
    language_for_shebang,
    supported_languages,
)
from autan.indexer.parse import (
    MAX_ERRORS,
    MAX_SIGNATURE,
    QUERY_DIR,
    QUERY_PARTS,
    get_queries,
    identifiers_in_range,
    load_query_source,
    parse_source,
    query_path,
)
from autan.indexer.types import FileSymbols

DefRow = tuple[str, str, int, int, str, str]  # name, kind, start, end, scope, signature
ImportRow = tuple[str, list[str], int, int]  # module, names, relative level, line


@dataclass
class Case:
    """One language's sample file and what parsing it must give."""

    source: str
    defs: list[DefRow]
    imports: list[ImportRow]
    used: list[str] = field(default_factory=list)  # identifiers that must be listed
    not_used: list[str] = field(default_factory=list)  # keywords that must not be


CASES: dict[str, Case] = {
    "python": Case(
        source=r"""import os
import os.path as osp, sys
from . import sibling
from ..pkg.mod import (alpha, beta as b)
from .util import *

MAX_SIZE = 10
type Alias = list[int]

def add(a: int, b: int = 2) -> int:
    return a + b

class Shape(Base):
    SIDES: int = 0
    @property
    def area(self) -> float:
        def inner(x):
            return x
        return inner(self.width)
""",
        defs=[
            ("MAX_SIZE", "constant", 6, 6, "", "MAX_SIZE = 10"),
            ("Alias", "type", 7, 7, "", "type Alias = list[int]"),
            ("add", "function", 9, 10, "", "def add(a: int, b: int = 2) -> int:"),
            ("Shape", "class", 12, 18, "", "class Shape(Base):"),
            ("SIDES", "constant", 13, 13, "Shape", "SIDES: int = 0"),
            ("area", "method", 14, 18, "Shape", "def area(self) -> float:"),
            ("inner", "function", 16, 17, "Shape.area", "def inner(x):"),
        ],
        imports=[
            ("os", [], 0, 0),
            ("os.path", [], 0, 1),
            ("sys", [], 0, 1),
            ("", ["sibling"], 1, 2),
            ("pkg.mod", ["alpha", "beta"], 2, 3),
            ("util", ["*"], 1, 4),
        ],
        used=["os", "osp", "Base", "inner", "width", "property", "int"],
        not_used=["def", "return", "class", "import", "from", "self", "type"],
    ),
    "javascript": Case(
        source=r"""import React, { useState, useEffect as ue } from "react";
import * as path from 'node:path';
const fs = require("fs");
const { join, resolve } = require("path");
export { helper } from "./helper.js";
export * from "./all";
import("./lazy.js");

export const MAX_ITEMS = 100;
const add = (a, b) => a + b;

export function greet(name) {
  return `hi ${name}`;
}

class Counter extends Base {
  count = 0;
  increment(step) {
    this.count += step;
  }
}
""",
        defs=[
            ("MAX_ITEMS", "constant", 8, 8, "", "export const MAX_ITEMS = 100"),
            ("add", "function", 9, 9, "", "const add = (a, b) =>"),
            ("greet", "function", 11, 13, "", "export function greet(name)"),
            ("Counter", "class", 15, 20, "", "class Counter extends Base"),
            ("increment", "method", 17, 19, "Counter", "increment(step)"),
        ],
        imports=[
            ("react", ["React", "useState", "useEffect"], 0, 0),
            ("node:path", ["*"], 0, 1),
            ("fs", [], 0, 2),
            ("path", ["join", "resolve"], 0, 3),
            ("./helper.js", ["helper"], 0, 4),
            ("./all", ["*"], 0, 5),
            ("./lazy.js", [], 0, 6),
        ],
        used=["React", "useState", "require", "step", "count", "Base", "name"],
        not_used=["const", "function", "return", "class", "this", "export", "import", "extends"],
    ),
    "typescript": Case(
        source=r"""import type { Config } from "./config";
import fs = require("fs");
export const DEFAULT_PORT: number = 8080;
export interface Shape {
  area(): number;
  name: string;
}
export type Id = string | number;
export enum Color { Red, Green }
namespace Geometry {
  export function dist(a: Point, b: Point): number { return 0; }
}
export abstract class Square implements Shape {
  constructor(private side: number) {}
  area(): number {
    return this.side * this.side;
  }
  abstract name(): string;
}
function identity<T>(x: T): T { return x; }
""",
        defs=[
            ("DEFAULT_PORT", "constant", 2, 2, "", "export const DEFAULT_PORT: number = 8080"),
            ("Shape", "interface", 3, 6, "", "export interface Shape"),
            ("area", "method", 4, 4, "Shape", "area(): number"),
            ("Id", "type", 7, 7, "", "export type Id = string | number"),
            ("Color", "enum", 8, 8, "", "export enum Color"),
            ("Geometry", "module", 9, 11, "", "namespace Geometry"),
            ("dist", "function", 10, 10, "Geometry",
             "export function dist(a: Point, b: Point): number"),
            ("Square", "class", 12, 18, "", "export abstract class Square implements Shape"),
            ("constructor", "method", 13, 13, "Square", "constructor(private side: number)"),
            ("area", "method", 14, 16, "Square", "area(): number"),
            ("name", "method", 17, 17, "Square", "abstract name(): string"),
            ("identity", "function", 19, 19, "", "function identity<T>(x: T): T"),
        ],
        imports=[
            ("./config", ["Config"], 0, 0),
            ("fs", [], 0, 1),
        ],
        used=["Config", "Point", "side", "T", "Shape", "identity"],
        not_used=["interface", "namespace", "abstract", "this", "number", "string", "private"],
    ),
    "tsx": Case(
        source=r"""import React, { useState } from "react";
import type { Props } from "./types";

export const MAX_COUNT = 5;

interface ButtonProps { label: string; onClick(): void }

export function Counter({ initial }: Props) {
  const [count, setCount] = useState(initial);
  return <Button label={`n=${count}`} onClick={() => setCount(count + 1)} />;
}

export default class Panel extends React.Component<Props> {
  render() {
    return <div className="panel">{this.props.children}</div>;
  }
}
""",
        defs=[
            ("MAX_COUNT", "constant", 3, 3, "", "export const MAX_COUNT = 5"),
            ("ButtonProps", "interface", 5, 5, "", "interface ButtonProps"),
            ("onClick", "method", 5, 5, "ButtonProps", "onClick(): void"),
            ("Counter", "function", 7, 10, "", "export function Counter({ initial }: Props)"),
            ("Panel", "class", 12, 16, "",
             "export default class Panel extends React.Component<Props>"),
            ("render", "method", 13, 15, "Panel", "render()"),
        ],
        imports=[
            ("react", ["React", "useState"], 0, 0),
            ("./types", ["Props"], 0, 1),
        ],
        used=["useState", "setCount", "Button", "div", "children", "Props"],
        not_used=["const", "return", "this", "class", "extends", "interface"],
    ),
    "go": Case(
        source=r"""package server

import (
	"context"
	log "github.com/sirupsen/logrus"
	_ "embed"
)
import "fmt"

const MaxConns = 10

type ID string

type Handler interface {
	Serve(ctx context.Context) error
}

type Server struct {
	addr string
}

func (s *Server) Start(ctx context.Context) error {
	log.Info("start")
	return fmt.Errorf("x %s", s.addr)
}

func New[T any](addr string) *Server {
	return &Server{addr: addr}
}
""",
        defs=[
            ("MaxConns", "constant", 9, 9, "", "const MaxConns = 10"),
            ("ID", "type", 11, 11, "", "type ID string"),
            ("Handler", "interface", 13, 15, "", "type Handler interface"),
            ("Serve", "method", 14, 14, "Handler", "Serve(ctx context.Context) error"),
            ("Server", "class", 17, 19, "", "type Server struct"),
            ("Start", "method", 21, 24, "Server",
             "func (s *Server) Start(ctx context.Context) error"),
            ("New", "function", 26, 28, "", "func New[T any](addr string) *Server"),
        ],
        imports=[
            ("context", [], 0, 3),
            ("github.com/sirupsen/logrus", [], 0, 4),
            ("embed", [], 0, 5),
            ("fmt", [], 0, 7),
        ],
        used=["fmt", "Errorf", "ctx", "Context", "addr", "log", "Info"],
        not_used=["func", "return", "struct", "interface", "type", "package", "import"],
    ),
    "rust": Case(
        source=r"""use std::collections::{HashMap, HashSet};
use crate::ast::Ast;
use super::lexer::{self, Token as Tok, nested::{a, b}};
use std::io::*;
mod tests;
extern crate serde;

pub const MAX_DEPTH: usize = 64;
static GREETING: &str = "hi";

pub struct Parser<'a> {
    input: &'a str,
}

pub enum Kind { A, B }

pub trait Visitor {
    fn visit(&mut self, node: &Ast);
}

type Result<T> = std::result::Result<T, String>;

impl<'a> Parser<'a> {
    pub fn new(input: &'a str) -> Self {
        Parser { input }
    }
}

pub fn parse(input: &str) -> Result<Ast> {
    let p = Parser::new(input);
    todo!()
}

mod inner {
    fn helper() {}
}
""",
        defs=[
            ("tests", "module", 4, 4, "", "mod tests"),
            ("MAX_DEPTH", "constant", 7, 7, "", "pub const MAX_DEPTH: usize = 64"),
            ("GREETING", "constant", 8, 8, "", 'static GREETING: &str = "hi"'),
            ("Parser", "class", 10, 12, "", "pub struct Parser<'a>"),
            ("Kind", "enum", 14, 14, "", "pub enum Kind"),
            ("Visitor", "interface", 16, 18, "", "pub trait Visitor"),
            ("visit", "method", 17, 17, "Visitor", "fn visit(&mut self, node: &Ast)"),
            ("Result", "type", 20, 20, "", "type Result<T> = std::result::Result<T, String>"),
            ("new", "method", 23, 25, "Parser", "pub fn new(input: &'a str) -> Self"),
            ("parse", "function", 28, 31, "", "pub fn parse(input: &str) -> Result<Ast>"),
            ("inner", "module", 33, 35, "", "mod inner"),
            ("helper", "function", 34, 34, "inner", "fn helper()"),
        ],
        imports=[
            ("std::collections", ["HashMap", "HashSet"], 0, 0),
            ("crate::ast::Ast", [], 0, 1),
            ("super::lexer", ["self", "Token"], 0, 2),
            ("super::lexer::nested", ["a", "b"], 0, 2),
            ("std::io", ["*"], 0, 3),
            ("tests", [], 0, 4),
            ("serde", [], 0, 5),
        ],
        used=["HashMap", "Ast", "input", "Parser", "todo", "Result"],
        not_used=["fn", "pub", "impl", "let", "struct", "use", "self", "mod"],
    ),
    "java": Case(
        source=r"""package com.example.store;

import java.util.List;
import java.util.*;
import static java.lang.Math.max;

public class Inventory<T> extends Base implements Sized {
    public static final int MAX_ITEMS = 100;
    private final List<T> items;

    public Inventory(List<T> items) {
        this.items = items;
    }

    @Override
    public int size() {
        return items.size();
    }

    interface Listener {
        void onChange(T item);
    }

    enum State { OPEN, CLOSED }

    record Pair(int a, int b) {}
}
""",
        defs=[
            ("Inventory", "class", 6, 26, "",
             "public class Inventory<T> extends Base implements Sized"),
            ("MAX_ITEMS", "constant", 7, 7, "Inventory", "public static final int MAX_ITEMS = 100"),
            ("Inventory", "method", 10, 12, "Inventory", "public Inventory(List<T> items)"),
            ("size", "method", 14, 17, "Inventory", "public int size()"),
            ("Listener", "interface", 19, 21, "Inventory", "interface Listener"),
            ("onChange", "method", 20, 20, "Inventory.Listener", "void onChange(T item)"),
            ("State", "enum", 23, 23, "Inventory", "enum State"),
            ("Pair", "class", 25, 25, "Inventory", "record Pair(int a, int b)"),
        ],
        imports=[
            ("java.util.List", [], 0, 2),
            ("java.util", ["*"], 0, 3),
            ("java.lang.Math.max", [], 0, 4),
        ],
        used=["List", "items", "Override", "size", "T", "Base"],
        not_used=["public", "class", "return", "this", "static", "final", "void", "import"],
    ),
    "c": Case(
        source=r"""#include <stdio.h>
#include "util.h"

#define MAX_LEN 256
#define SQUARE(x) ((x) * (x))

typedef struct {
    int x;
    int y;
} Point;

struct Node {
    struct Node *next;
};

enum Color { RED, GREEN };

static const int LIMIT = 10;

int add(int a, int b);

static char *dup_name(const char *name, size_t len) {
    return strndup(name, len);
}
""",
        defs=[
            ("MAX_LEN", "constant", 3, 3, "", "#define MAX_LEN 256"),
            ("SQUARE", "function", 4, 4, "", "#define SQUARE(x) ((x) * (x))"),
            ("Point", "type", 6, 9, "", "typedef struct { int x; int y; } Point"),
            ("Node", "class", 11, 13, "", "struct Node"),
            ("Color", "enum", 15, 15, "", "enum Color"),
            ("LIMIT", "constant", 17, 17, "", "static const int LIMIT = 10"),
            ("add", "function", 19, 19, "", "int add(int a, int b)"),
            ("dup_name", "function", 21, 23, "",
             "static char *dup_name(const char *name, size_t len)"),
        ],
        imports=[
            ("<stdio.h>", [], 0, 0),
            ("util.h", [], 0, 1),
        ],
        used=["strndup", "LIMIT", "name", "len", "next", "Point"],
        not_used=["int", "char", "struct", "typedef", "return", "static", "const", "include"],
    ),
    "cpp": Case(
        source=r"""#include <vector>
#include "shape.hpp"

namespace geo {

constexpr int kMaxSides = 12;

template <typename T>
T clamp(T v, T lo, T hi) {
    return v < lo ? lo : v;
}

class Polygon : public Shape {
public:
    explicit Polygon(std::vector<Point> pts);
    double area() const override {
        return compute(points_);
    }
    virtual ~Polygon() = default;
private:
    std::vector<Point> points_;
};

struct Point { double x, y; };

enum class Kind { Convex, Concave };

using Index = std::size_t;

Polygon::Polygon(std::vector<Point> pts) : points_(pts) {}

double Polygon::perimeter() const { return 0.0; }

}  // namespace geo
""",
        defs=[
            ("geo", "module", 3, 33, "", "namespace geo"),
            ("kMaxSides", "constant", 5, 5, "geo", "constexpr int kMaxSides = 12"),
            ("clamp", "function", 7, 10, "geo", "template <typename T> T clamp(T v, T lo, T hi)"),
            ("Polygon", "class", 12, 21, "geo", "class Polygon : public Shape"),
            ("Polygon", "method", 14, 14, "geo.Polygon",
             "explicit Polygon(std::vector<Point> pts)"),
            ("area", "method", 15, 17, "geo.Polygon", "double area() const override"),
            ("~Polygon", "method", 18, 18, "geo.Polygon", "virtual ~Polygon() = default"),
            ("Point", "class", 23, 23, "geo", "struct Point"),
            ("Kind", "enum", 25, 25, "geo", "enum class Kind"),
            ("Index", "type", 27, 27, "geo", "using Index = std::size_t"),
            ("Polygon", "method", 29, 29, "geo.Polygon",
             "Polygon::Polygon(std::vector<Point> pts) : points_(pts)"),
            ("perimeter", "method", 31, 31, "geo.Polygon", "double Polygon::perimeter() const"),
        ],
        imports=[
            ("<vector>", [], 0, 0),
            ("shape.hpp", [], 0, 1),
        ],
        used=["std", "vector", "compute", "points_", "Shape", "T"],
        not_used=["class", "namespace", "template", "public", "return", "const", "double", "using"],
    ),
    "c_sharp": Case(
        source=r"""using System;
using System.Collections.Generic;
using static System.Math;
using Json = Newtonsoft.Json;

namespace Shop.Models
{
    public interface IEntity { int Id { get; } }

    public enum Status { Active, Closed }

    public struct Money { public decimal Amount; }

    public record Tag(string Name);

    [Serializable]
    public class Order : IEntity
    {
        public const int MaxLines = 50;
        public int Id { get; set; }

        public Order(int id) { Id = id; }

        public decimal Total(List<decimal> prices)
        {
            return Sum(prices);
        }
    }
}
""",
        defs=[
            ("Shop.Models", "module", 5, 28, "", "namespace Shop.Models"),
            ("IEntity", "interface", 7, 7, "Shop.Models", "public interface IEntity"),
            ("Status", "enum", 9, 9, "Shop.Models", "public enum Status"),
            ("Money", "class", 11, 11, "Shop.Models", "public struct Money"),
            ("Tag", "class", 13, 13, "Shop.Models", "public record Tag(string Name)"),
            ("Order", "class", 15, 27, "Shop.Models", "public class Order : IEntity"),
            ("MaxLines", "constant", 18, 18, "Shop.Models.Order", "public const int MaxLines = 50"),
            ("Order", "method", 21, 21, "Shop.Models.Order", "public Order(int id)"),
            ("Total", "method", 23, 26, "Shop.Models.Order",
             "public decimal Total(List<decimal> prices)"),
        ],
        imports=[
            ("System", [], 0, 0),
            ("System.Collections.Generic", [], 0, 1),
            ("System.Math", [], 0, 2),
            ("Newtonsoft.Json", [], 0, 3),
        ],
        used=["System", "Newtonsoft", "Sum", "prices", "IEntity", "Serializable"],
        not_used=["using", "namespace", "public", "class", "return", "const", "get", "set"],
    ),
    "ruby": Case(
        source=r"""require "json"
require_relative "lib/helpers"
require 'set'

module Billing
  TAX_RATE = 0.2

  class Invoice < Base
    attr_reader :lines

    def initialize(lines)
      @lines = lines
    end

    def total(discount = 0)
      lines.sum(&:amount) * (1 + TAX_RATE) - discount
    end

    def self.build(data)
      new(JSON.parse(data))
    end
  end
end

def helper(x)
  x * 2
end
""",
        defs=[
            ("Billing", "module", 4, 22, "", "module Billing"),
            ("TAX_RATE", "constant", 5, 5, "Billing", "TAX_RATE = 0.2"),
            ("Invoice", "class", 7, 21, "Billing", "class Invoice < Base"),
            ("initialize", "method", 10, 12, "Billing.Invoice", "def initialize(lines)"),
            ("total", "method", 14, 16, "Billing.Invoice", "def total(discount = 0)"),
            ("build", "method", 18, 20, "Billing.Invoice", "def self.build(data)"),
            ("helper", "function", 24, 26, "", "def helper(x)"),
        ],
        imports=[
            ("json", [], 0, 0),
            ("./lib/helpers", [], 0, 1),
            ("set", [], 0, 2),
        ],
        used=["JSON", "parse", "lines", "discount", "attr_reader", "TAX_RATE"],
        not_used=["def", "end", "class", "module", "self"],
    ),
    "php": Case(
        source=r"""<?php
namespace App\Http;

use App\Models\User;
use App\Support\{Str, Arr as A};
use function App\helpers\format_name;
require_once 'vendor/autoload.php';
include __DIR__ . '/config.php';

const VERSION = "1.0";

interface Greets { public function greet(): string; }

trait Loggable {
    public function log(string $msg): void { echo $msg; }
}

enum Suit: string { case Hearts = 'H'; }

class UserController extends Controller implements Greets
{
    const PER_PAGE = 20;

    public function show(int $id): User
    {
        return User::find($id);
    }
}

function helper($x) { return $x * 2; }
""",
        defs=[
            ("App\\Http", "module", 1, 1, "", "namespace App\\Http"),
            ("VERSION", "constant", 9, 9, "", 'const VERSION = "1.0"'),
            ("Greets", "interface", 11, 11, "", "interface Greets"),
            ("greet", "method", 11, 11, "Greets", "public function greet(): string"),
            ("Loggable", "interface", 13, 15, "", "trait Loggable"),
            ("log", "method", 14, 14, "Loggable", "public function log(string $msg): void"),
            ("Suit", "enum", 17, 17, "", "enum Suit: string"),
            ("UserController", "class", 19, 27, "",
             "class UserController extends Controller implements Greets"),
            ("PER_PAGE", "constant", 21, 21, "UserController", "const PER_PAGE = 20"),
            ("show", "method", 23, 26, "UserController", "public function show(int $id): User"),
            ("helper", "function", 29, 29, "", "function helper($x)"),
        ],
        imports=[
            ("App\\Models\\User", [], 0, 3),
            ("App\\Support", ["Str", "Arr"], 0, 4),
            ("App\\helpers\\format_name", [], 0, 5),
            ("vendor/autoload.php", [], 0, 6),
            ("./config.php", [], 0, 7),
        ],
        used=["User", "find", "id", "Controller", "msg", "format_name"],
        not_used=["function", "class", "public", "return", "use", "namespace", "echo"],
    ),
    "bash": Case(
        source=r"""#!/usr/bin/env bash
source ./lib/common.sh
. "$HOME/.config/env.sh"

readonly MAX_RETRIES=3

log() {
  echo "[$(date)] $*" >&2
}

function deploy {
  local target="$1"
  log "deploying $target"
  rsync -a build/ "$target"
}

deploy "$@"
""",
        defs=[
            ("MAX_RETRIES", "constant", 4, 4, "", "readonly MAX_RETRIES=3"),
            ("log", "function", 6, 8, "", "log()"),
            ("deploy", "function", 10, 14, "", "function deploy"),
        ],
        imports=[
            ("./lib/common.sh", [], 0, 1),
            ("$HOME/.config/env.sh", [], 0, 2),
        ],
        used=["log", "echo", "rsync", "target", "HOME", "MAX_RETRIES"],
        not_used=["function", "local", "readonly", "1", "@", "*"],
    ),
    "lua": Case(
        source=r"""local json = require("cjson")
local util = require "app.util"
require('strict')

local M = {}
MAX_SIZE = 10

local function clamp(x, lo, hi)
  return math.max(lo, math.min(x, hi))
end

function M.new(name)
  return setmetatable({ name = name }, M)
end

function M:greet()
  return "hi " .. self.name .. util.suffix()
end

function helper(a) return a end
""",
        defs=[
            ("MAX_SIZE", "constant", 5, 5, "", "MAX_SIZE = 10"),
            ("clamp", "function", 7, 9, "", "local function clamp(x, lo, hi)"),
            ("new", "function", 11, 13, "M", "function M.new(name)"),
            ("greet", "method", 15, 17, "M", "function M:greet()"),
            ("helper", "function", 19, 19, "", "function helper(a)"),
        ],
        imports=[
            ("cjson", [], 0, 0),
            ("app.util", [], 0, 1),
            ("strict", [], 0, 2),
        ],
        used=["json", "math", "max", "setmetatable", "util", "suffix"],
        not_used=["local", "function", "return", "end", "self"],
    ),}

# One broken file per language: a definition before and after a syntax error.
BROKEN: dict[str, tuple[str, list[str]]] = {
    "python": ("def good(a):\n    return a\n\nx = 1)\n\nclass After:\n    def m(self):\n"
               "        return 1\n", ["good", "After", "m"]),
    "javascript": ("function good(a) { return a; }\nlet x = = 1;\n"
                   "class After { m() { return 1; } }\n", ["good", "After", "m"]),
    "typescript": ("function good(a: number): number { return a; }\nlet x: = 1;\n"
                   "interface After { m(): void }\n", ["good", "After", "m"]),
    "tsx": ("function Good() { return <div/>; }\nfoo(1 2);\n"
            "function After() { return 1; }\n", ["Good", "After"]),
    "go": ("package p\n\nfunc good() int { return 1 }\n\nvar x = = 1\n\n"
           "type After struct{}\n", ["good", "After"]),
    "rust": ("fn good() -> i32 { 1 }\nfn broken( { }\npub struct After { x: i32 }\n",
             ["good", "After"]),
    "java": ("class A {\n  int good() { return 1; }\n  int x = ;\n  void after() {}\n}\n",
             ["A", "good", "after"]),
    "c": ("int good(void) { return 1; }\nint x = ;\nstruct After { int y; };\n",
          ["good", "After"]),
    "cpp": ("int good() { return 1; }\nint x = ;\nclass After { void m() {} };\n",
            ["good", "After", "m"]),
    "c_sharp": ("class A {\n  int Good() { return 1; }\n  int x = ;\n  void After() {}\n}\n",
                ["A", "Good", "After"]),
    "ruby": ("def good\n  1\nend\n\nx = (1 +\n\nclass After\nend\n", ["good", "After"]),
    "php": ("<?php\nfunction good() { return 1; }\n$x = ;\nclass After {}\n",
            ["good", "After"]),
    "bash": ("good() { echo 1; }\necho )\nafter() { echo 2; }\n", ["good", "after"]),
    "lua": ("function good() return 1 end\nlocal x = = 2\nfunction after() end\n",
            ["good", "after"]),
}


def parsed(language: str, text: str) -> FileSymbols:
    """Symbols of a text that must parse cleanly."""
    symbols, errors = parse_source(text, language)
    assert errors == [], errors
    return symbols


def test_every_language_has_a_case() -> None:
    assert set(CASES) == set(LANGUAGES) == set(BROKEN)


@pytest.mark.parametrize("language", sorted(CASES))
def test_definitions(language: str) -> None:
    case = CASES[language]
    symbols = parsed(language, case.source)
    got = [(d.name, d.kind, d.start_line, d.end_line, d.scope, d.signature)
           for d in symbols.definitions]
    assert got == case.defs
    assert symbols.language == language


@pytest.mark.parametrize("language", sorted(CASES))
def test_imports(language: str) -> None:
    case = CASES[language]
    imports = parsed(language, case.source).imports
    got = [(i.module, i.names, i.relative_level, i.line) for i in imports]
    assert got == case.imports


@pytest.mark.parametrize("language", sorted(CASES))
def test_identifiers(language: str) -> None:
    case = CASES[language]
    identifiers = parsed(language, case.source).identifiers
    assert len(identifiers) == len(set(identifiers)), "identifiers must be distinct"
    assert not [n for n in case.used if n not in identifiers]
    assert not [n for n in case.not_used if n in identifiers]
    assert not [n for n in identifiers if n in LANGUAGES[language].keywords]


def test_identifiers_are_in_first_occurrence_order() -> None:
    text = "total = price * count\nprice = lookup(total, count)\n"
    assert parsed("python", text).identifiers == ["total", "price", "count", "lookup"]


@pytest.mark.parametrize("language", sorted(CASES))
def test_every_definition_name_is_an_identifier(language: str) -> None:
    """A file's identifiers cover its own definitions (the context builder compares sets)."""
    symbols = parsed(language, CASES[language].source)
    identifiers = set(symbols.identifiers)
    missing = [d.name for d in symbols.definitions
               if d.name not in identifiers and d.name.isidentifier()]
    assert not missing


@pytest.mark.parametrize("language", sorted(CASES))
def test_signatures_are_one_short_line(language: str) -> None:
    for definition in parsed(language, CASES[language].source).definitions:
        assert "\n" not in definition.signature
        assert 0 < len(definition.signature) <= MAX_SIGNATURE
        assert definition.name in definition.signature


@pytest.mark.parametrize("language", sorted(BROKEN))
def test_syntax_errors_are_reported_and_the_rest_still_parses(language: str) -> None:
    text, expected = BROKEN[language]
    symbols, errors = parse_source(text, language)
    assert errors, "a syntax error must be reported"
    assert all(e.split(":")[0].isdigit() for e in errors), errors
    names = [d.name for d in symbols.definitions]
    assert not [n for n in expected if n not in names], names


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("text", ["", "\n\n", "   "])
def test_empty_file(language: str, text: str) -> None:
    symbols, errors = parse_source(text, language)
    assert errors == []
    assert symbols == FileSymbols(language=language)


def test_error_messages_are_capped() -> None:
    text = "".join(f"x{i} = = {i}\n" for i in range(MAX_ERRORS * 3))
    _, errors = parse_source(text, "python")
    assert len(errors) == MAX_ERRORS + 1
    assert errors[-1].startswith("... and ")


def test_missing_tokens_are_reported() -> None:
    _, errors = parse_source("fn broken( { }\n", "rust")
    assert any("missing" in e for e in errors), errors


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_garbage_never_raises(language: str) -> None:
    """Binary junk, NULs, lone surrogates and unbalanced brackets give errors, not exceptions."""
    for text in ("\x00\x01\x02 {{{{ ((((", "\ud800 def f(): pass", "}}}]]])))" * 50,
                 "é" * 1000, "\r\n" * 3):
        symbols, errors = parse_source(text, language)
        assert isinstance(symbols, FileSymbols) and isinstance(errors, list)


def test_unknown_language_is_an_error_not_an_exception() -> None:
    symbols, errors = parse_source("x = 1", "cobol")
    assert symbols == FileSymbols(language="cobol")
    assert errors == ["unsupported language: 'cobol'"]
    assert identifiers_in_range("x = 1", "cobol", 0, 0) == []


@pytest.mark.parametrize(("language", "make_line"), [
    ("python", lambda i: f"def f{i}(a, b):\n    x = a * b\n    return helper_{i % 7}(x)\n"),
    ("javascript", lambda i: f"function f{i}(a) {{\n  return g{i % 7}(a);\n}}\n"),
    ("go", lambda i: f"func F{i}(a int) int {{\n\treturn g{i % 7}(a)\n}}\n"),
])
def test_a_ten_thousand_line_file_parses(language: str, make_line: object) -> None:
    """No timing assertion (CI machines vary); it must finish and find every definition."""
    assert callable(make_line)
    header = "package big\n" if language == "go" else ""
    body = "".join(make_line(i) for i in range(3400))
    text = header + body
    assert text.count("\n") >= 10_000
    started = time.perf_counter()
    symbols = parsed(language, text)
    elapsed = time.perf_counter() - started
    assert len(symbols.definitions) == 3400
    assert symbols.definitions[-1].name in ("f3399", "F3399")
    assert "helper_6" in symbols.identifiers or "g6" in symbols.identifiers
    print(f"{language}: {text.count(chr(10))} lines in {elapsed * 1000:.0f} ms")


# ---------------------------------------------------------------- details of the contract


def test_python_decorated_method_range_includes_the_decorator_not_the_signature() -> None:
    text = "class A:\n    @staticmethod\n    @cache\n    def m(x):\n        return x\n"
    (cls, method) = parsed("python", text).definitions
    assert (method.name, method.kind, method.scope) == ("m", "method", "A")
    assert (method.start_line, method.end_line) == (1, 4)
    assert method.signature == "def m(x):"
    assert (cls.start_line, cls.end_line) == (0, 4)


def test_nested_scopes_are_dotted() -> None:
    text = ("class Outer:\n    class Inner:\n        def m(self):\n"
            "            def helper():\n                pass\n")
    got = [(d.name, d.kind, d.scope) for d in parsed("python", text).definitions]
    assert got == [("Outer", "class", ""), ("Inner", "class", "Outer"),
                   ("m", "method", "Outer.Inner"), ("helper", "function", "Outer.Inner.m")]


def test_multi_line_signatures_are_collapsed_and_comments_dropped() -> None:
    text = ("def build(\n    name: str,  # the name\n    size: int = 3,\n) -> dict:\n"
            "    return {}\n")
    (definition,) = parsed("python", text).definitions
    assert definition.signature == "def build(name: str, size: int = 3,) -> dict:"


def test_long_signatures_are_cut() -> None:
    params = ", ".join(f"argument_{i}: int" for i in range(40))
    (definition,) = parsed("python", f"def f({params}):\n    pass\n").definitions
    assert len(definition.signature) == MAX_SIGNATURE
    assert definition.signature.startswith("def f(argument_0: int")
    assert definition.signature.endswith("...")


def test_java_annotations_are_not_part_of_the_signature() -> None:
    text = ('class A {\n  @Override\n  @Deprecated(since = "1")\n'
            "  public int size() { return 0; }\n}\n")
    method = parsed("java", text).definitions[1]
    assert (method.name, method.signature, method.start_line) == ("size", "public int size()", 1)


def test_go_grouped_constants_are_siblings() -> None:
    text = "package p\n\nconst (\n\tA = iota\n\tB\n)\n\nconst X, Y = 1, 2\n"
    got = [(d.name, d.kind, d.scope) for d in parsed("go", text).definitions]
    assert got == [("A", "constant", ""), ("B", "constant", ""), ("X", "constant", ""),
                   ("Y", "constant", "")]


def test_rust_impl_blocks_scope_methods_and_trait_impls_use_the_type() -> None:
    text = ("struct S;\nimpl Display for S {\n    fn fmt(&self) {}\n}\n"
            "impl<T> Wrapper<T> {\n    fn get(&self) -> &T { &self.0 }\n}\n")
    got = [(d.name, d.kind, d.scope) for d in parsed("rust", text).definitions]
    assert got == [("S", "class", ""), ("fmt", "method", "S"), ("get", "method", "Wrapper")]


def test_rust_nested_use_trees_are_flattened() -> None:
    text = "use a::{b, c::{d, e as f}, g::*, self};\nuse x::y as z;\n"
    got = [(i.module, i.names) for i in parsed("rust", text).imports]
    assert got == [("a", ["b", "self"]), ("a::c", ["d", "e"]), ("a::g", ["*"]), ("x::y", [])]


def test_python_relative_imports() -> None:
    text = "from . import a\nfrom .. import b as c\nfrom ...pkg.sub import (d,\n    e)\n"
    got = [(i.module, i.names, i.relative_level, i.line) for i in parsed("python", text).imports]
    assert got == [("", ["a"], 1, 0), ("", ["b"], 2, 1), ("pkg.sub", ["d", "e"], 3, 2)]


def test_javascript_import_forms() -> None:
    text = ('import "./side-effect.css";\nimport def, * as ns from "m1";\n'
            'export { a as b, c } from "m2";\nconst { x, y: z } = require("m3");\n'
            'const lazy = await import("m4");\n')
    got = [(i.module, i.names, i.line) for i in parsed("javascript", text).imports]
    assert got == [("./side-effect.css", [], 0), ("m1", ["def", "*"], 1),
                   ("m2", ["a", "c"], 2), ("m3", ["x", "y"], 3), ("m4", [], 4)]


def test_cpp_out_of_class_methods_take_the_qualifier_as_scope() -> None:
    text = "namespace ns {\nint a::B::run(int x) { return x; }\n}\n"
    (module, method) = parsed("cpp", text).definitions
    assert (module.name, module.kind) == ("ns", "module")
    assert (method.name, method.kind, method.scope) == ("run", "method", "ns.a.B")


def test_a_bare_ruby_def_is_a_function_and_a_def_in_a_module_a_method() -> None:
    text = "def top; end\nmodule M\n  def self.util; end\n  def inst; end\nend\n"
    got = [(d.name, d.kind, d.scope) for d in parsed("ruby", text).definitions]
    assert got == [("top", "function", ""), ("M", "module", ""), ("util", "method", "M"),
                   ("inst", "method", "M")]


# ---------------------------------------------------------------- identifiers near the cursor


def test_identifiers_in_range_sees_only_those_lines() -> None:
    text = CASES["python"].source
    assert identifiers_in_range(text, "python", 9, 10) == ["add", "a", "int", "b"]
    assert identifiers_in_range(text, "python", 16, 17) == ["inner", "x"]
    assert "self" not in identifiers_in_range(text, "python", 15, 18)


def test_identifiers_in_range_edges() -> None:
    text = "alpha = 1\nbeta = alpha\n"
    assert identifiers_in_range(text, "python", 1, 0) == []
    assert identifiers_in_range(text, "python", 5, 9) == []
    assert identifiers_in_range(text, "python", -3, 0) == ["alpha"]
    assert identifiers_in_range(text, "python", 0, 100) == ["alpha", "beta"]
    assert identifiers_in_range("", "python", 0, 0) == []


@pytest.mark.parametrize("language", sorted(CASES))
def test_identifiers_in_range_over_the_whole_file_equals_parse(language: str) -> None:
    text = CASES[language].source
    whole = identifiers_in_range(text, language, 0, text.count("\n") + 1)
    assert whole == parsed(language, text).identifiers


# ---------------------------------------------------------------- queries and grammars


def test_queries_are_loaded_from_the_packaged_folder() -> None:
    assert Path(parse_module.__file__).parent / "queries" == QUERY_DIR
    for language in LANGUAGES:
        for part in QUERY_PARTS:
            path = query_path(language, part)
            assert path.parent == QUERY_DIR and path.is_file(), path
            assert path.read_text(encoding="utf-8") in load_query_source(language, part)


def test_inherited_query_files_come_first() -> None:
    ecma = (QUERY_DIR / "ecma-tags.scm").read_text(encoding="utf-8")
    for language in ("javascript", "typescript", "tsx"):
        assert load_query_source(language, "tags").startswith(ecma)
    assert load_query_source("cpp", "tags").startswith(query_path("c", "tags").read_text())


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_queries_compile_once_per_language(language: str) -> None:
    queries = get_queries(language)
    assert queries is get_queries(language)
    assert queries.tags.pattern_count > 0 and queries.identifiers.pattern_count > 0


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_grammars_load_once(language: str) -> None:
    assert get_language(language) is get_language(language)


@pytest.mark.parametrize(("path", "language"), [
    ("a/b.py", "python"), ("stubs/x.pyi", "python"), ("x.js", "javascript"),
    ("x.mjs", "javascript"), ("x.cjs", "javascript"), ("x.jsx", "javascript"),
    ("x.ts", "typescript"), ("x.mts", "typescript"), ("x.cts", "typescript"), ("x.tsx", "tsx"),
    ("main.go", "go"), ("lib.rs", "rust"), ("A.java", "java"), ("x.c", "c"), ("x.h", "c"),
    ("x.cc", "cpp"), ("x.cpp", "cpp"), ("x.cxx", "cpp"), ("x.hpp", "cpp"), ("x.hh", "cpp"),
    ("x.hxx", "cpp"), ("X.cs", "c_sharp"), ("x.rb", "ruby"), ("Rakefile", "ruby"),
    ("Gemfile", "ruby"), ("x.php", "php"), ("x.sh", "bash"), ("x.bash", "bash"),
    ("x.lua", "lua"), ("SRC/MAIN.PY", "python"), ("win\\path\\x.go", "go"),
    ("README.md", None), ("Makefile", None), ("x.json", None), ("noext", None),
])
def test_language_for(path: str, language: str | None) -> None:
    assert language_for(path) == language


def test_language_for_reads_a_shebang_only_without_a_known_extension() -> None:
    assert language_for("bin/tool", "#!/usr/bin/env python3") == "python"
    assert language_for("bin/tool", "#!/usr/bin/env -S node --flag") == "javascript"
    assert language_for("bin/tool", "#!/bin/bash -e") == "bash"
    assert language_for("bin/tool", "#!/usr/bin/python3.12") == "python"
    assert language_for("bin/tool", "# not a shebang") is None
    assert language_for("x.rb", "#!/usr/bin/env python3") == "ruby"
    assert language_for_shebang("#!/usr/bin/env perl") is None


def test_supported_languages_are_the_fourteen_grammars() -> None:
    assert supported_languages() == sorted(LANGUAGES)
    assert len(LANGUAGES) == 14


def test_a_failing_step_is_an_error_and_the_other_steps_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(parse_module, "_definitions", broken)
    symbols, errors = parse_source("import os\nx = os.sep\n", "python")
    assert errors == ["internal error: RuntimeError: boom"]
    assert symbols.definitions == []
    assert [i.module for i in symbols.imports] == ["os"]
    assert symbols.identifiers == ["os", "x", "sep"]


def test_empty_bodies_do_not_leak_into_signatures() -> None:
    lua = parsed("lua", "function M.a.b(x) end\nM.c = function(y) end\n").definitions
    assert [(d.name, d.scope, d.signature) for d in lua] == [
        ("b", "M.a", "function M.a.b(x)"), ("c", "M", "M.c = function(y)")]
    ruby = parsed("ruby", "class Foo; end\ndef bar; end\n").definitions
    assert [d.signature for d in ruby] == ["class Foo", "def bar"]


def test_typescript_ambient_declarations_keep_declare() -> None:
    text = "declare module 'foo/bar' {\n  export function f(): void;\n}\n"
    (module, function) = parsed("typescript", text).definitions
    assert (module.name, module.signature) == ("foo/bar", "declare module 'foo/bar'")
    assert (function.name, function.scope) == ("f", "foo/bar")


def test_parsing_from_many_threads_at_once() -> None:
    """The server parses the open buffer while the indexer parses files: trees are per call."""
    text = CASES["rust"].source
    expected = parse_source(text, "rust")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: parse_source(text, "rust"), range(64)))
        near = list(pool.map(lambda _: identifiers_in_range(text, "rust", 22, 26), range(64)))
    assert all(r == expected for r in results)
    assert all(n == near[0] and "Parser" in n for n in near)
