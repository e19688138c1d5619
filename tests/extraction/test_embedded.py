"""crawler.extraction.embedded: media in inline scripts, JSON, JSON-LD and strings.

The scripts are written as the libraries and frameworks write them.
"""

from __future__ import annotations

import json

from tests.extraction.support import paths, read

GALLERIA = """<div class="galleria"></div>
<script src="galleria/galleria-1.6.1.min.js"></script>
<script>
  var data = [
    { thumb: 'thumbnails/a.jpg', image: 'a.jpg', big: 'big/a.jpg', title: 'A', description: 'x' },
    { thumb: 'thumbnails/b.jpg', image: 'b.jpg' },
    { thumb: 'thumbnails/v.jpg',
      layer: "<video controls poster=''><source src='v.webm' type='video/webm'></video>" },
    { image: 'c.jpg', video: 'https://www.youtube.com/watch?v=abc' },
    { iframe: 'https://player.vimeo.com/video/1', thumb: 'thumbnails/vimeo.jpg' },
  ];
  Galleria.loadTheme('galleria/themes/classic/galleria.classic.min.js');
  Galleria.run('.galleria', { dataSource: data, lightbox: true });
</script>"""


def test_galleria_data_source_full_sizes_and_layer_videos():
    found = read(GALLERIA)
    assert paths(found.urls) == [
        "/gallery/big/a.jpg",
        "/gallery/b.jpg",
        "/gallery/v.webm",
        "/gallery/c.jpg",
        "/gallery/thumbnails/vimeo.jpg",  # no full size: the thumbnail is all there is
    ]
    assert set(paths(found.thumbnails)) == {
        "/gallery/thumbnails/a.jpg",
        "/gallery/a.jpg",
        "/gallery/thumbnails/b.jpg",
        "/gallery/thumbnails/v.jpg",
    }
    assert found.sources == {"script": 4, "html_in_string": 1}
    assert found.full_size_named == 4


def test_next_js_data_and_images_naming_their_original():
    data = {
        "props": {
            "pageProps": {
                "post": {
                    "cover": {"url": "/uploads/a.jpg", "width": 2000},
                    "gallery": [
                        {
                            "thumbnail": "https://cdn.example/t/b.jpg",
                            "original": "https://cdn.example/o/b.jpg",
                        },
                        {"image": {"src": "https://cdn.example/o/c.png"}},
                    ],
                    "author": {"avatar": "/uploads/me.png"},
                }
            }
        },
        "page": "/posts/[slug]",
        "buildId": "bY2",
    }
    payload = json.dumps(data).replace("/", "\\u002F")  # as some serializers escape it
    found = read(
        '<div id="__next"><img alt="" srcset="/_next/image?url=%2Fuploads%2Fa.jpg&amp;w=640'
        '&amp;q=75 1x, /_next/image?url=%2Fuploads%2Fa.jpg&amp;w=1080&amp;q=75 2x"'
        ' src="/_next/image?url=%2Fuploads%2Fa.jpg&amp;w=1080&amp;q=75"></div>'
        f'<script id="__NEXT_DATA__" type="application/json">{payload}</script>'
    )
    assert paths(found.urls) == [
        "/uploads/a.jpg",
        "https://cdn.example/o/b.jpg",
        "https://cdn.example/o/c.png",
        "/uploads/me.png",
    ]
    assert set(paths(found.thumbnails)) == {
        "/_next/image?url=%2Fuploads%2Fa.jpg&w=1080&q=75",  # what the <img> shows
        "https://cdn.example/t/b.jpg",
    }
    assert found.sources == {"markup": 1, "json": 3}


def test_nuxt_state_json_ld_and_json_inside_strings():
    found = read(
        '<script type="application/json" id="__NUXT_DATA__" data-ssr="true">'
        '[["ShallowReactive",1],{"data":2},{"photo":3},"/media/nuxt.webp"]</script>'
        "<script>window.__INITIAL_STATE__ = JSON.parse("
        '"{\\"gallery\\":[{\\"small\\":\\"/s/1.jpg\\",\\"large\\":\\"/l/1.jpg\\"}]}");</script>'
        '<script>self.__next_f.push([1,"5:[\\"$\\",\\"img\\",null,{\\"src\\":\\"/rsc/2.jpg\\"}]\\n"])'
        "</script>"
        '<script type="application/ld+json">{"@context": "https://schema.org",'
        ' "@type": "Article", "image": {"@type": "ImageObject",'
        ' "url": "https://cdn.example/i/abc123", "width": 1200},'
        ' "thumbnailUrl": "https://cdn.example/t/abc.jpg",'
        ' "video": {"@type": "VideoObject", "contentUrl": "/media/v.mp4",'
        ' "thumbnailUrl": "/media/v.jpg", "embedUrl": "https://player.example/v"}}</script>'
    )
    assert paths(found.urls) == [
        "/media/nuxt.webp",
        "/l/1.jpg",
        "/rsc/2.jpg",
        "https://cdn.example/i/abc123",  # an ImageObject's url: no extension needed
        "/media/v.mp4",
    ]
    assert set(paths(found.thumbnails)) == {
        "/s/1.jpg",
        "https://cdn.example/t/abc.jpg",
        "/media/v.jpg",
    }
    assert found.sources == {"json": 1, "script": 2, "json_ld": 2}
    assert found.guessed == 1


def test_css_in_strings_and_script_templates():
    found = read(
        "<script>el.style.backgroundImage = 'url(\"/bg/hero.jpg\")';</script>"
        '<script type="text/template" id="item"><figure><img src="/tpl/static.jpg">'
        '<img src="{{ url }}"></figure></script>'
    )
    assert paths(found.urls) == ["/bg/hero.jpg", "/tpl/static.jpg"]
    assert found.sources == {"script": 1, "html_in_string": 1}


def test_strings_that_are_not_media_urls():
    found = read(
        "<script>"
        "var types = ['image/jpeg', '.jpg', 'jpg', '*.png', '%s.jpg', 'a b.jpg'];"
        "var tpl = '/img/${id}.jpg', re = /\\.(jpe?g|png)$/i, mod = './main.ts';"
        "var js = 'app.min.js', css = '/site.css', page = '/photos/12', mail = 'mailto:x@y.jpg';"
        "var data = 'data:image/png;base64,iVBORw0KGgo=', js2 = 'javascript:void(0).jpg';"
        "</script>"
    )
    assert found.urls == [] and found.guessed == 0


def test_urls_without_an_extension_only_under_media_names_and_directories():
    found = read(
        "<script>var post = {"
        " image: '/uploads/2026/abc123',"  # a picture's name, a media directory: fetched to see
        " link: '/uploads/2026/def456',"  # not a picture's name
        " image2: '/posts/12',"  # not a media directory
        " cover: {url: 'https://cdn.example/media/xyz'} };"
        "</script>"
    )
    assert paths(found.urls) == ["/uploads/2026/abc123"]
    assert found.guessed == 1
