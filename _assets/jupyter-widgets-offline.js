// Runs between require.js and embed-amd.js on the pages that store widget state (see _config.yml).
(function () {
  // embed-amd.js fetches its Font Awesome fonts from beside the AMD module
  // "@jupyter-widgets/html-manager/dist/libembed-amd", which require.js places in the page's own
  // folder; the fonts lie in _static/jupyter-widgets. (The html-manager's own setting for this,
  // window.__jupyter_widgets_assets_path__, is read only after the fonts' addresses are fixed.)
  var dist = new URL("jupyter-widgets", document.currentScript.src).href;
  window.requirejs.config({ paths: { "@jupyter-widgets/html-manager/dist": dist } });

  // @jupyter-widgets/controls typesets every widget label with MathJax 2's MathJax.Hub.Queue as soon
  // as window.MathJax exists. The book runs MathJax 3, which has no Hub, so each label threw a
  // TypeError. Widgets render on the window's load event, after MathJax 3 has replaced the
  // configuration object window.MathJax; this listener is registered first, so it runs first.
  window.addEventListener("load", function () {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub || !mathjax.startup) {
      return;
    }
    mathjax.Hub = {
      Queue: function (job) {
        // job is ["Typeset", MathJax.Hub, element]
        mathjax.startup.promise = mathjax.startup.promise.then(function () {
          return mathjax.typesetPromise([job[2]]);
        });
      },
    };
  });
})();
