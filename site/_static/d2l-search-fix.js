// Chinese search on Sphinx 9.0 (the last Sphinx for Python 3.11): its language_data.js defines
// EnglishStemmer (Chinese search stems Latin words in English) and then sets
// `window.Stemmer = ChineseStemmer`, which does not exist, so every search stops with
// "ChineseStemmer is not defined" (sphinx-doc/sphinx#14229, fixed in Sphinx 9.1, Python >= 3.12).
// Loaded before language_data.js, this names the English stemmer under the name it looks for;
// with a fixed Sphinx the name is never read.
if (!("ChineseStemmer" in window)) {
  Object.defineProperty(window, "ChineseStemmer", {
    configurable: true,
    get: () => window.EnglishStemmer,
  });
}
