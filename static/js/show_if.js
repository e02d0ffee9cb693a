// show_if evaluation on the phone: the same JSON tree and the same rules as
// app/domain/show_if.py evaluate() (a comparison with a missing answer is false).
(function (root) {
  "use strict";
  var MISSING = {};
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function valueOf(operand, answers) {
    if ("var" in operand) {
      var v = Object.prototype.hasOwnProperty.call(answers, operand["var"]) ? answers[operand["var"]] : undefined;
      return v === undefined || v === null ? MISSING : v;
    }
    return operand.lit;
  }
  function same(a, b) { return (isNum(a) && isNum(b)) ? a === b : (typeof a === typeof b && a === b); }
  function compare(op, a, b) {
    if (a === MISSING || b === MISSING) return false;
    if (op === "==") return same(a, b);
    if (op === "!=") return !same(a, b);
    if (!((isNum(a) && isNum(b)) || (typeof a === "string" && typeof b === "string"))) return false;
    return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
  }
  function evaluate(t, answers) {
    if (!t) return true;
    if (t.and) return t.and.every(function (p) { return evaluate(p, answers); });
    if (t.or) return t.or.some(function (p) { return evaluate(p, answers); });
    if ("not" in t) return !evaluate(t.not, answers);
    if (t.cmp) return compare(t.cmp, valueOf(t.left, answers), valueOf(t.right, answers));
    if (t["in"]) {
      var v = valueOf(t["in"], answers);
      return v !== MISSING && t.values.some(function (x) { return same(v, x); });
    }
    if (t.truthy) {
      var w = valueOf(t.truthy, answers);
      return [MISSING, "no", "na", "", 0, false].indexOf(w) < 0;
    }
    return false;
  }
  root.showIf = { evaluate: evaluate };
})(window);
