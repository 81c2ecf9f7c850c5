// Call console keys: j/k select a call in the queue, 1-5 log its outcome, / focuses the number.
(function () {
  "use strict";
  var selected = 0;
  function rows() { return document.querySelectorAll("#queue .m4s-task"); }
  function mark() {
    var all = rows();
    for (var i = 0; i < all.length; i++) { all[i].classList.toggle("active", i === selected); }
    if (all[selected]) { all[selected].scrollIntoView({block: "nearest"}); }
  }
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var all = rows();
    if (e.key === "/") { e.preventDefault(); document.getElementById("phone").focus(); return; }
    if (e.key === "j") { selected = Math.min(selected + 1, all.length - 1); mark(); return; }
    if (e.key === "k") { selected = Math.max(selected - 1, 0); mark(); return; }
    if (/^[1-5]$/.test(e.key) && all[selected]) {
      var button = all[selected].querySelector('button[data-key="' + e.key + '"]');
      if (button) { e.preventDefault(); button.click(); }
    }
  });
  mark();
})();
